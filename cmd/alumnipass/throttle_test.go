package main

import (
	"strings"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/store"
)

// TestGuessingIsThrottled: a key that sends many refused codes, or a card
// with many stale codes, is answered 429 with Retry-After, and it shows in
// the metrics.
func TestGuessingIsThrottled(t *testing.T) {
	ts := startServer(t, store.SQLite)
	f := ts.newFixture("gold")
	g := ts.newFixture("gold")
	var last *response
	for i := 0; i < 70; i++ {
		last = ts.do("POST", "/api/v1/verify", f.DeviceKey, map[string]string{"code": "AP1:Cguess"})
		if last.Status == 429 {
			break
		}
	}
	if last.Status != 429 || last.Header.Get("Retry-After") == "" || last.Code() != "rate_limited" {
		t.Fatalf("a guessing key was not throttled: %d %s", last.Status, last.Body)
	}
	// Another venue's key is not affected.
	now := time.Now()
	ts.Clock.Set(now)
	if r := ts.verify(g.DeviceKey, g.cardCode(t, now)); r.Str("result") != "valid" {
		t.Fatalf("other key: %s", r.Body)
	}
	// Old pictures of one card: after ten stale codes even a fresh code of
	// that card is held back for a while.
	for i := 1; i <= 11; i++ {
		ts.do("POST", "/api/v1/verify", g.DeviceKey, map[string]string{"code": g.cardCode(t, now.Add(-time.Duration(i)*5*time.Minute))})
	}
	ts.Clock.Set(now.Add(30 * time.Second))
	if r := ts.do("POST", "/api/v1/verify", g.DeviceKey, map[string]string{"code": g.cardCode(t, now.Add(30*time.Second))}); r.Status != 429 {
		t.Fatalf("a card with many stale codes: %d %s", r.Status, r.Body)
	}
	m := ts.do("GET", "/metrics", "", nil)
	for _, want := range []string{`alumnipass_throttled_total{limit="verify_key"}`, `alumnipass_throttled_total{limit="verify_card"}`, `alumnipass_verifications_total{result="stale"}`} {
		if !strings.Contains(string(m.Body), want) {
			t.Fatalf("metrics lack %s", want)
		}
	}
}

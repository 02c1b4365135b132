package main

import (
	"fmt"
	"strings"
	"sync"
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

// newDeviceKeys issues n more device keys for the fixture's venue.
func (ts *testServer) newDeviceKeys(f *fixture, n int) []string {
	ts.t.Helper()
	var keys []string
	for i := range n {
		k := ts.must(ts.do("POST", "/api/v1/partners/"+f.PartnerID+"/keys", ts.HRToken, map[string]any{"name": fmt.Sprintf("tablet %d", i)}), 201)
		keys = append(keys, k.Str("key"))
	}
	return keys
}

// TestCardThrottleIsNoOracle: once a card is throttled, the right code and
// a wrong one get the same answer (429 with the same Retry-After), decided
// before the code is checked; failures spread over many device keys still
// throttle the card, and concurrent guesses cannot slip past the count.
func TestCardThrottleIsNoOracle(t *testing.T) {
	ts := startServer(t, store.SQLite)
	now := time.Now().UTC().Truncate(time.Second)
	ts.Clock.Set(now)
	stale := func(f *fixture, i int) string { return f.cardCode(t, now.Add(-time.Duration(i+1)*5*time.Minute)) }

	t.Run("same answer right or wrong", func(t *testing.T) {
		f := ts.newFixture("gold")
		keys := ts.newDeviceKeys(f, 10)
		for i, k := range keys { // ten guesses, one per key
			if r := ts.verify(k, stale(f, i)); r.Str("result") != "stale" {
				t.Fatalf("guess %d: %s", i, r.Body)
			}
		}
		right := ts.do("POST", "/api/v1/verify", f.DeviceKey, map[string]string{"code": f.cardCode(t, now)})
		wrong := ts.do("POST", "/api/v1/verify", f.DeviceKey, map[string]string{"code": stale(f, 20)})
		for name, r := range map[string]*response{"right": right, "wrong": wrong} {
			if r.Status != 429 || r.Code() != "rate_limited" || r.Header.Get("Retry-After") == "" {
				t.Errorf("%s code on a throttled card: %d %s", name, r.Status, r.Body)
			}
		}
		if right.Status != wrong.Status || string(right.Body) != string(wrong.Body) || right.Header.Get("Retry-After") != wrong.Header.Get("Retry-After") {
			t.Errorf("right and wrong codes are told apart:\nright %d %s %s\nwrong %d %s %s", right.Status, right.Header.Get("Retry-After"), right.Body,
				wrong.Status, wrong.Header.Get("Retry-After"), wrong.Body)
		}
		// The window ends: the card is answered again.
		ts.Clock.Set(now.Add(61 * time.Second))
		if r := ts.verify(f.DeviceKey, f.cardCode(t, now.Add(61*time.Second))); r.Str("result") != "valid" {
			t.Errorf("after the window: %s", r.Body)
		}
		ts.Clock.Set(now)
	})

	t.Run("failures spread over keys and venues", func(t *testing.T) {
		f := ts.newFixture("gold")
		g := ts.newFixture("gold") // another partner's venue
		keys := append(ts.newDeviceKeys(f, 6), ts.newDeviceKeys(g, 6)...)
		answered := 0
		for i, k := range keys {
			r := ts.do("POST", "/api/v1/verify", k, map[string]string{"code": stale(f, i)})
			switch {
			case r.Status == 200 && r.Str("result") == "stale":
				answered++
			case r.Status != 429:
				t.Fatalf("guess %d: %d %s", i, r.Status, r.Body)
			}
		}
		if answered != 10 {
			t.Errorf("%d of %d guesses from %d keys were answered; want the card's 10", answered, len(keys), len(keys))
		}
	})

	t.Run("concurrent guesses", func(t *testing.T) {
		f := ts.newFixture("gold")
		keys := ts.newDeviceKeys(f, 15)
		var mu sync.Mutex
		var wg sync.WaitGroup
		answered := 0
		for i := range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := ts.raw("POST", "/api/v1/verify", keys[i%len(keys)], "application/json", []byte(`{"code":"`+stale(f, i)+`"}`))
				mu.Lock()
				defer mu.Unlock()
				if r.Status == 200 {
					answered++
				}
			}()
		}
		wg.Wait()
		if answered > 10 {
			t.Errorf("%d concurrent guesses at one card were answered; want at most 10", answered)
		}
	})
}

// TestDeviceKeyCap: a venue holds at most ALUMNIPASS_MAX_KEYS_PER_VENUE
// (20) active device keys, whether issued or paired, also when requests
// race; a revoked key frees its place.
func TestDeviceKeyCap(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		f := ts.newFixture("gold") // one key
		ts.newDeviceKeys(f, 19)
		keysPath := "/api/v1/partners/" + f.PartnerID + "/keys"
		pairingPath := "/api/v1/partners/" + f.PartnerID + "/pairing-codes"
		limited := func(what string, r *response) {
			t.Helper()
			if r.Status != 409 || r.Code() != "device_key_limit" {
				t.Fatalf("%s at the cap: %d %s, want 409 device_key_limit", what, r.Status, r.Body)
			}
		}
		limited("issue", ts.do("POST", keysPath, ts.HRToken, map[string]any{"name": "one too many"}))
		limited("pairing code", ts.do("POST", pairingPath, ts.HRToken, map[string]any{"name": "tablet"}))

		// A pairing code made below the cap cannot take a key past it.
		list := ts.must(ts.do("GET", keysPath, ts.HRToken, nil), 200)
		var ids []string
		for _, k := range list.JSON["keys"].([]any) {
			ids = append(ids, k.(map[string]any)["id"].(string))
		}
		if len(ids) != 20 {
			t.Fatalf("%d keys listed, want 20", len(ids))
		}
		ts.must(ts.do("POST", keysPath+"/"+ids[0]+"/revoke", ts.HRToken, nil), 200)
		code := ts.must(ts.do("POST", pairingPath, ts.HRToken, map[string]any{"name": "tablet"}), 201).Str("code")
		ts.newDeviceKeys(f, 1)
		limited("pairing", ts.do("POST", "/api/v1/devices/pair", "", map[string]any{"code": code}))
		ts.must(ts.do("POST", keysPath+"/"+ids[1]+"/revoke", ts.HRToken, nil), 200)
		ts.must(ts.do("POST", "/api/v1/devices/pair", "", map[string]any{"code": code}), 201)

		// Racing issues take exactly the free places.
		for _, id := range ids[2:5] {
			ts.must(ts.do("POST", keysPath+"/"+id+"/revoke", ts.HRToken, nil), 200)
		}
		var wg sync.WaitGroup
		statuses := make([]int, 10)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = ts.raw("POST", keysPath, ts.HRToken, "application/json", []byte(`{"name":"race"}`)).Status
			}()
		}
		wg.Wait()
		made := 0
		for _, s := range statuses {
			switch s {
			case 201:
				made++
			case 409:
			default:
				t.Errorf("racing issue answered %d", s)
			}
		}
		if n := ts.count("api_keys WHERE venue_id = '" + f.VenueID + "' AND revoked_at IS NULL"); made != 3 || n != 20 {
			t.Errorf("%d racing issues succeeded for 3 free places; the venue has %d active keys, want 20", made, n)
		}
	})
}

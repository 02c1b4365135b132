package main

import (
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// TestRevocationReachesTheOtherInstance runs two instances on one
// PostgreSQL: HR revokes through one, and the other refuses the member's
// next code, although it had the card cached from a valid scan.
func TestRevocationReachesTheOtherInstance(t *testing.T) {
	url := storetest.NewPostgresDB(t)
	key := "11" + "22"
	for len(key) < 64 {
		key += "33"
	}
	a := startServerOn(t, openTestStore(t, url, 8), key)
	b := startServerOn(t, openTestStore(t, url, 8), key)
	b.HRToken = a.HRToken
	f := a.newFixture("gold")
	now := time.Now()
	step := func(i int) string { return f.cardCode(t, now.Add(time.Duration(i)*30*time.Second)) }

	if r := b.verify(f.DeviceKey, step(0)); r.Str("result") != "valid" {
		t.Fatalf("instance B before revocation: %s", r.Body)
	}
	a.must(a.do("POST", "/api/v1/members/"+f.MemberID+"/revoke", a.HRToken, map[string]string{"reason": "test"}), 200)

	// The notice travels through LISTEN/NOTIFY; poll a bounded number of
	// times (behaviour, not timing: the bound is generous).
	for i := 0; ; i++ {
		b.Clock.Set(now.Add(time.Duration(i+1) * 30 * time.Second))
		r := b.verify(f.DeviceKey, step(i+1))
		if r.Str("result") == "revoked" {
			break
		}
		if r.Str("result") != "valid" || i > 50 {
			t.Fatalf("instance B after revocation, try %d: %s", i, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

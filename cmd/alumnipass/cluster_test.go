package main

import (
	"context"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// TestRevocationReachesTheOtherInstance runs two instances on one
// PostgreSQL: HR revokes through one, and the other refuses the member's
// next code, although it had the card cached from a valid scan.
func TestRevocationReachesTheOtherInstance(t *testing.T) {
	ctx := context.Background()
	url := storetest.NewPostgresDB(t)
	open := func() *store.Store {
		st, err := store.Open(ctx, store.Options{DatabaseURL: url, MaxConns: 8})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		if _, err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return st
	}
	key := "11" + "22"
	for len(key) < 64 {
		key += "33"
	}
	a := startServerOn(t, open(), key)
	b := startServerOn(t, open(), key)
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

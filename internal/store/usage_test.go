package store_test

import (
	"context"
	"testing"

	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// TestPerkUses reads back what TakePerkUse counted, for the asked perks,
// member and periods only, in one statement.
func TestPerkUses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		take := func(perk, member, period string) {
			t.Helper()
			storetest.Must(t, s.InTx(ctx, func(tx *store.Tx) error { return tx.TakePerkUse(ctx, perk, member, period, 10) }))
		}
		take("p1", "m1", "d:2026-11-24")
		take("p1", "m1", "d:2026-11-24")
		take("p1", "m1", "m:2026-11")
		take("p2", "m1", "d:2026-11-24")
		take("p1", "m2", "d:2026-11-24") // another member
		take("p1", "m1", "d:2026-11-23") // another day
		take("p3", "m1", "d:2026-11-24") // a perk not asked for
		rows, err := s.PerkUses(ctx, "m1", []string{"p1", "p2"}, []string{"d:2026-11-24", "m:2026-11"})
		storetest.Must(t, err)
		got := map[string]int{}
		for _, r := range rows {
			got[r.PerkID+" "+r.Period] = r.Uses
		}
		want := map[string]int{"p1 d:2026-11-24": 2, "p1 m:2026-11": 1, "p2 d:2026-11-24": 1}
		if len(got) != len(want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		for k, n := range want {
			if got[k] != n {
				t.Errorf("%s: %d uses, want %d (all: %v)", k, got[k], n, got)
			}
		}
		if rows, err := s.PerkUses(ctx, "m1", nil, []string{"d:2026-11-24"}); err != nil || len(rows) != 0 {
			t.Errorf("no perks asked: %v %v", rows, err)
		}
		if rows, err := s.VerificationRedemptions(ctx, "00000000-0000-0000-0000-000000000000"); err != nil || len(rows) != 0 {
			t.Errorf("redemptions of an unknown verification: %v %v", rows, err)
		}
	})
}

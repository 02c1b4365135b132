package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// TestRedemptionFactsUnknown reads the facts of ids that do not exist in
// one statement on both databases: every part is nil, not an error. And an
// insert whose card and member do not exist is refused by the standing
// check of InsertRedemptionIfStanding without writing (the foreign keys are
// never reached). The redemption rules themselves are held by
// TestRedemptionRules, TestConcurrentRedemptions, TestRedemptionRechecksStanding
// and TestGuestPassQuotaConcurrent in cmd/alumnipass.
func TestRedemptionFactsUnknown(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const none = "00000000-0000-0000-0000-000000000000"
		f, err := s.RedemptionFacts(ctx, "key", "idem-key-1", none, none)
		storetest.Must(t, err)
		if f.Prev != nil || f.Verification != nil || f.Perk != nil || f.Member != nil || f.Card != nil || f.Pass != nil {
			t.Fatalf("facts of unknown ids: %+v", f)
		}
		pass := none
		for _, gp := range []*string{nil, &pass} {
			r := &model.Redemption{ID: none, VerificationID: none, IdempotencyKey: "idem-key-1", APIKeyID: "key", PerkID: none,
				PartnerID: none, VenueID: none, MemberID: none, CardID: &pass, GuestPassID: gp, PartySize: 1, At: time.Now()}
			if err := s.InsertRedemptionIfStanding(ctx, r, store.Standing{CardID: none, Perk: &model.Perk{}}); !errors.Is(err, store.ErrStandingChanged) {
				t.Fatalf("insert without a card or member (guest pass %v): %v, want ErrStandingChanged", gp != nil, err)
			}
		}
	})
}

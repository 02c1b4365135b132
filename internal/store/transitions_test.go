package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// testCard is an unsigned card row for storage tests (the store does not
// check signatures).
func testCard(memberID, kid string) *model.Card {
	now := time.Now().UTC().Truncate(time.Second)
	return &model.Card{ID: uuid.NewString(), MemberID: memberID, Status: model.CardActive, KeyID: kid, SignedPart: "x",
		TOTPSecretEnc: []byte{1}, Companions: 1, IssuedAt: now, ExpiresAt: now.Add(time.Hour),
		EnrollTokenHash: uuid.NewString(), EnrollExpiresAt: now.Add(time.Hour)}
}

// TestStatusAndCardCompareAndSet: SetMemberStatus writes only over the
// status it expects, IssueCard only replaces the card it expects, and
// RevokeMemberCards revokes every active card of the member at once.
func TestStatusAndCardCompareAndSet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now()
		kid := "k" + uuid.NewString()[:8]
		storetest.Must(t, s.AddSigningKey(ctx, &model.SigningKey{KeyID: kid, PublicKey: []byte{1}, PrivateKeyEnc: []byte{1}, Status: model.KeyActive, CreatedAt: now}))
		m := member("CAS1")
		storetest.Must(t, s.CreateMember(ctx, m))

		if err := s.SetMemberStatus(ctx, m.ID, model.MemberSuspended, model.MemberRevoked, "x", now); !errors.Is(err, model.ErrConflict) {
			t.Fatalf("status from the wrong before: want ErrConflict, got %v", err)
		}
		if got, _ := s.Member(ctx, m.ID); got.Status != model.MemberActive {
			t.Fatalf("a refused compare-and-set wrote %s", got.Status)
		}
		storetest.Must(t, s.SetMemberStatus(ctx, m.ID, model.MemberActive, model.MemberSuspended, "", now))

		first, second, third := testCard(m.ID, kid), testCard(m.ID, kid), testCard(m.ID, kid)
		storetest.Must(t, s.InTx(ctx, func(tx *store.Tx) error { return tx.IssueCard(ctx, first, "", now) }))
		// A second "first issue" (it expected no card) is refused and writes nothing.
		err := s.InTx(ctx, func(tx *store.Tx) error { return tx.IssueCard(ctx, second, "", now) })
		if !errors.Is(err, model.ErrConflict) {
			t.Fatalf("issue expecting no card while one is active: want ErrConflict, got %v", err)
		}
		if c, err := s.Card(ctx, first.ID); err != nil || c.Status != model.CardActive {
			t.Fatalf("the refused issue touched the active card: %+v %v", c, err)
		}
		if _, err := s.Card(ctx, second.ID); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("the refused issue inserted its card: %v", err)
		}
		// Replacing a card that is no longer the active one is refused too.
		storetest.Must(t, s.InTx(ctx, func(tx *store.Tx) error { return tx.IssueCard(ctx, second, first.ID, now) }))
		err = s.InTx(ctx, func(tx *store.Tx) error { return tx.IssueCard(ctx, third, first.ID, now) })
		if !errors.Is(err, model.ErrConflict) {
			t.Fatalf("issue replacing a revoked card: want ErrConflict, got %v", err)
		}
		var ids []string
		storetest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
			locked, err := tx.LockMember(ctx, m.ID)
			if err != nil || locked.Status != model.MemberSuspended {
				t.Errorf("LockMember: %+v %v", locked, err)
			}
			ids, err = tx.RevokeMemberCards(ctx, m.ID, now)
			return err
		}))
		if len(ids) != 1 || ids[0] != second.ID {
			t.Fatalf("revoked %v, want only the active card %s", ids, second.ID)
		}
		if _, err := s.LockMember(ctx, uuid.NewString()); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("LockMember of a missing member: want ErrNotFound, got %v", err)
		}
	})
}

package store_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// entries renders status entries as "id:status" for comparison.
func entries(es []store.StatusEntry) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.SubjectID+":"+e.Kind+":"+e.Status)
	}
	sort.Strings(out)
	return out
}

func sameStrings(a, b []string) bool {
	sort.Strings(b)
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestStatusListFollowsChanges: suspending, reinstating and revoking a
// member, revoking and re-issuing a card and cancelling a guest pass each
// write the status list in the same store method, with sequence numbers
// that only grow, so that a delta since any earlier number shows the change.
func TestStatusListFollowsChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		kid := "k" + uuid.NewString()[:8]
		storetest.Must(t, s.AddSigningKey(ctx, &model.SigningKey{KeyID: kid, PublicKey: []byte{1}, PrivateKeyEnc: []byte{1}, Status: model.KeyActive, CreatedAt: now}))
		m, other := member("SL1"), member("SL2")
		storetest.Must(t, s.CreateMember(ctx, m))
		storetest.Must(t, s.CreateMember(ctx, other))
		card, otherCard := testCard(m.ID, kid), testCard(other.ID, kid)
		storetest.Must(t, s.InTx(ctx, func(tx *store.Tx) error { return tx.IssueCard(ctx, card, "", now) }))
		storetest.Must(t, s.InTx(ctx, func(tx *store.Tx) error { return tx.IssueCard(ctx, otherCard, "", now) }))

		seq0, err := s.StatusListSeq(ctx)
		storetest.Must(t, err)
		if snap, _ := s.StatusSnapshot(ctx, now); len(snap) != 0 {
			t.Fatalf("fresh cards listed: %v", snap)
		}

		storetest.Must(t, s.SetMemberStatus(ctx, m.ID, model.MemberActive, model.MemberSuspended, "", now))
		seq1, _ := s.StatusListSeq(ctx)
		if seq1 <= seq0 {
			t.Fatalf("seq did not grow: %d -> %d", seq0, seq1)
		}
		snap, err := s.StatusSnapshot(ctx, now)
		storetest.Must(t, err)
		if want := []string{card.ID + ":card:suspended"}; !sameStrings(entries(snap), want) {
			t.Fatalf("after suspend: %v", entries(snap))
		}

		storetest.Must(t, s.SetMemberStatus(ctx, m.ID, model.MemberSuspended, model.MemberActive, "", now))
		if snap, _ := s.StatusSnapshot(ctx, now); len(snap) != 0 {
			t.Fatalf("reinstated card still listed: %v", snap)
		}
		delta, err := s.StatusChangesSince(ctx, seq1, now)
		storetest.Must(t, err)
		if want := []string{card.ID + ":card:active"}; !sameStrings(entries(delta), want) {
			t.Fatalf("delta after reinstate clears the card: %v", entries(delta))
		}

		// Re-issue revokes the old card (RevokeMemberCards inside IssueCard).
		replacement := testCard(m.ID, kid)
		storetest.Must(t, s.InTx(ctx, func(tx *store.Tx) error { return tx.IssueCard(ctx, replacement, card.ID, now) }))
		storetest.Must(t, s.RevokeCard(ctx, otherCard.ID, now))
		gp := &model.GuestPass{ID: uuid.NewString(), CardID: replacement.ID, MemberID: m.ID, Code: "x", PartySize: 1,
			ValidFrom: now, ValidUntil: now.Add(time.Hour), MaxUses: 1, Status: "active", CreatedAt: now}
		storetest.Must(t, s.CreateGuestPass(ctx, gp))
		storetest.Must(t, s.CancelGuestPass(ctx, gp.ID, m.ID))
		snap, _ = s.StatusSnapshot(ctx, now)
		want := []string{card.ID + ":card:revoked", otherCard.ID + ":card:revoked", gp.ID + ":guest:cancelled"}
		if !sameStrings(entries(snap), want) {
			t.Fatalf("snapshot %v, want %v", entries(snap), want)
		}
		// Nothing listed once it has expired; a delta reports it cleared.
		later := now.Add(2 * time.Hour)
		if snap, _ := s.StatusSnapshot(ctx, later); len(snap) != 0 {
			t.Fatalf("expired entries listed: %v", entries(snap))
		}
		delta, _ = s.StatusChangesSince(ctx, seq1, later)
		for _, e := range delta {
			if e.Status != "active" {
				t.Fatalf("expired entry in a delta as %s", e.Status)
			}
		}
		seq2, _ := s.StatusListSeq(ctx)
		if d, _ := s.StatusChangesSince(ctx, seq2, now); len(d) != 0 {
			t.Fatalf("delta since the head: %v", entries(d))
		}
	})
}

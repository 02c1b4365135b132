package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// TestMembersByID: the members named, across the 1,000-id batches, by id;
// ids of no member are left out.
func TestMembersByID(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		ms := make([]model.Member, 1205)
		ids := make([]string, 0, len(ms)+2)
		for i := range ms {
			ms[i] = *member(fmt.Sprintf("B%05d", i))
			ids = append(ids, ms[i].ID)
		}
		storetest.Must(t, s.UpsertMembers(ctx, ms))
		missing := uuid.NewString()
		ids = append(ids, missing, ids[0]) // one unknown, one named twice
		got, err := s.MembersByID(ctx, ids)
		if err != nil || len(got) != len(ms) {
			t.Fatalf("%d members, want %d (%v)", len(got), len(ms), err)
		}
		if m := got[ms[1100].ID]; m.EmployeeNo != "B01100" || m.FamilyName != "髙橋" {
			t.Fatalf("member past the first batch: %+v", m)
		}
		if _, ok := got[missing]; ok {
			t.Fatal("an unknown id was answered")
		}
		none, err := s.MembersByID(ctx, nil)
		if err != nil || len(none) != 0 {
			t.Fatalf("no ids: %v %v", none, err)
		}
	})
}

package members_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/members"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

func ptr(s string) *string { return &s }

// TestUpdate: an edit is normalised by the one input rule, audited with
// only the fields it changed, and announced to every instance (an
// EventMember with the member's id); a change to nothing writes nothing;
// bad input, the employee number and an erased member are refused and
// change nothing.
func TestUpdate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		s := service(t, st)
		m, err := s.Create(ctx, hr, input("E100"))
		storetest.Must(t, err)
		var mu sync.Mutex
		var heard []store.Event
		st.Events().Subscribe(func(e store.Event) { mu.Lock(); heard = append(heard, e); mu.Unlock() })

		got, err := s.Update(ctx, hr, m.ID, members.Patch{Tier: ptr(" Platinum "), GivenName: ptr("　次郎 "), Locale: ptr("English"),
			Email: ptr("Jiro@Example.JP")})
		storetest.Must(t, err)
		if got.Tier != "platinum" || got.GivenName != "次郎" || got.Locale != "en" || got.Email != "Jiro@example.jp" || got.FamilyName != "山田" {
			t.Fatalf("updated: %+v", got)
		}
		stored, err := st.Member(ctx, m.ID)
		storetest.Must(t, err)
		if stored.Tier != "platinum" || stored.GivenName != "次郎" || !stored.UpdatedAt.After(m.UpdatedAt.Add(-time.Millisecond)) {
			t.Fatalf("stored: %+v", stored)
		}
		es := audit(t, st, m.ID)
		if es[0].Action != "member.update" || es[0].Before != `{"email":"Taro@example.jp","given_name":"太郎","locale":"ja","tier":"gold"}` ||
			es[0].After != `{"email":"Jiro@example.jp","given_name":"次郎","locale":"en","tier":"platinum"}` {
			t.Fatalf("audit: %+v", es[0])
		}
		mu.Lock()
		found := false
		for _, e := range heard {
			found = found || (e.Kind == store.EventMember && e.ID == m.ID)
		}
		mu.Unlock()
		if !found {
			t.Fatalf("no member event: %v", heard)
		}
		// A search finds the new name.
		ms, _, err := s.List(ctx, members.MemberFilter{Query: "次郎"})
		storetest.Must(t, err)
		if len(ms) != 1 {
			t.Fatalf("search by the new name: %v", ms)
		}

		// Nothing changed: nothing written.
		_, err = s.Update(ctx, hr, m.ID, members.Patch{Tier: ptr("PLATINUM"), EmployeeNo: ptr("E100")})
		storetest.Must(t, err)
		if n := len(audit(t, st, m.ID)); n != len(es) {
			t.Fatalf("a no-op edit was audited: %d entries, had %d", n, len(es))
		}

		for name, c := range map[string]struct {
			patch members.Patch
			code  string
		}{
			"email":       {members.Patch{Email: ptr("not an address")}, "invalid_email"},
			"tier":        {members.Patch{Tier: ptr("gold tier!")}, "invalid_tier"},
			"date":        {members.Patch{DepartedOn: ptr("2024-02-30")}, "invalid_date"},
			"locale":      {members.Patch{Locale: ptr("fr")}, "invalid_locale"},
			"name":        {members.Patch{FamilyName: ptr(" ")}, "invalid_name"},
			"kana":        {members.Patch{GivenNameKana: ptr("Jiro")}, "invalid_kana"},
			"employee no": {members.Patch{EmployeeNo: ptr("E999")}, "employee_no_immutable"},
		} {
			_, err := s.Update(ctx, hr, m.ID, c.patch)
			var p *model.Problem
			if !errors.As(err, &p) || p.Kind != model.ErrInvalid || p.Code != c.code {
				t.Errorf("%s: %v", name, err)
			}
		}
		after, err := st.Member(ctx, m.ID)
		storetest.Must(t, err)
		if *after != *stored {
			t.Fatalf("a refused edit changed the member: %+v", after)
		}

		_, err = s.Update(ctx, hr, "00000000-0000-4000-8000-000000000000", members.Patch{Tier: ptr("gold")})
		if !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("unknown member: %v", err)
		}
		storetest.Must(t, st.EraseMember(ctx, m.ID, time.Now()))
		_, err = s.Update(ctx, hr, m.ID, members.Patch{Tier: ptr("gold")})
		if !errors.Is(err, model.ErrConflict) {
			t.Fatalf("erased member: %v", err)
		}
	})
}

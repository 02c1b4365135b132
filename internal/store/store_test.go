package store_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

func member(no string) *model.Member {
	now := time.Now().UTC()
	return &model.Member{ID: uuid.NewString(), EmployeeNo: no, FamilyName: "髙橋", GivenName: "﨑子", Email: no + "@example.com",
		Tier: "standard", DepartedOn: "2024-03-31", Locale: "ja", Status: model.MemberActive, CreatedAt: now, UpdatedAt: now}
}

func TestMembers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		m := member("E1")
		storetest.Must(t, s.CreateMember(ctx, m))
		if err := s.CreateMember(ctx, member("E1")); !errors.Is(err, model.ErrConflict) {
			t.Fatalf("duplicate employee number: want ErrConflict, got %v", err)
		}
		got, err := s.Member(ctx, m.ID)
		if err != nil || got.FamilyName != "髙橋" || got.GivenName != "﨑子" || !got.CreatedAt.Equal(m.CreatedAt.Truncate(time.Microsecond)) {
			t.Fatalf("round trip: %+v %v", got, err)
		}
		if _, err := s.Member(ctx, uuid.NewString()); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("missing member: want ErrNotFound, got %v", err)
		}
		for i := 2; i <= 5; i++ {
			storetest.Must(t, s.CreateMember(ctx, member(fmt.Sprintf("E%d", i))))
		}
		page, err := s.ListMembers(ctx, store.MemberFilter{Limit: 2})
		if err != nil || len(page) != 2 || page[0].EmployeeNo != "E1" {
			t.Fatalf("first page: %v %v", page, err)
		}
		page, err = s.ListMembers(ctx, store.MemberFilter{Limit: 10, After: page[1].EmployeeNo})
		if err != nil || len(page) != 3 || page[0].EmployeeNo != "E3" {
			t.Fatalf("second page: %v %v", page, err)
		}
		for q, want := range map[string]int{"髙橋": 5, "髙橋﨑子": 5, "e3@EXAMPLE": 1, "E4": 1, "%": 0, "_": 0} {
			ms, err := s.ListMembers(ctx, store.MemberFilter{Query: q, Limit: 10})
			if err != nil || len(ms) != want {
				t.Fatalf("search %q: %d results, want %d (%v)", q, len(ms), want, err)
			}
		}
		storetest.Must(t, s.SetMemberStatus(ctx, m.ID, model.MemberActive, model.MemberSuspended, "", time.Now()))
		ms, _ := s.ListMembers(ctx, store.MemberFilter{Status: "suspended", Limit: 10})
		if len(ms) != 1 || ms[0].ID != m.ID {
			t.Fatalf("status filter: %v", ms)
		}
		if err := s.SetMemberStatus(ctx, uuid.NewString(), model.MemberActive, model.MemberRevoked, "x", time.Now()); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("status of a missing member: %v", err)
		}
	})
}

func TestUpsertMembersKeepsStatus(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		m := member("U1")
		storetest.Must(t, s.CreateMember(ctx, m))
		storetest.Must(t, s.SetMemberStatus(ctx, m.ID, model.MemberActive, model.MemberRevoked, "left", time.Now()))
		upd := *m
		upd.Email, upd.ID = "new@example.com", uuid.NewString()
		storetest.Must(t, s.UpsertMembers(ctx, []model.Member{upd, *member("U2")}))
		byNo, err := s.MembersByEmployeeNo(ctx, []string{"U1", "U2", "U3"})
		if err != nil || len(byNo) != 2 {
			t.Fatalf("by employee no: %v %v", byNo, err)
		}
		if got := byNo["U1"]; got.ID != m.ID || got.Email != "new@example.com" || got.Status != model.MemberRevoked {
			t.Fatalf("upsert changed identity or status: %+v", got)
		}
	})
}

// TestGuardedCounters shows the two atomic guards that the redemption
// rules rest on, under concurrent callers.
func TestGuardedCounters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.InTx(ctx, func(tx *store.Tx) error { return tx.TakePerkUse(ctx, "perk", "member", "d:2026-11-24", 3) })
				if err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				} else if !errors.Is(err, model.ErrLimit) {
					t.Errorf("unexpected error: %v", err)
				}
			}()
		}
		wg.Wait()
		if ok != 3 {
			t.Fatalf("limit 3: %d uses taken", ok)
		}
	})
}

func TestClaimCodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now()
		use := func(h, venue string) store.CodeUse {
			return store.CodeUse{CodeHash: h, VerificationID: uuid.NewString(), VenueID: venue, At: now}
		}
		exp := []time.Time{now.Add(time.Minute), now.Add(time.Minute)}
		claimed, err := s.ClaimCodes(ctx, []store.CodeUse{use("a", "v1"), use("b", "v1")}, exp)
		if err != nil || !claimed["a"] || !claimed["b"] {
			t.Fatalf("first claims: %v %v", claimed, err)
		}
		claimed, err = s.ClaimCodes(ctx, []store.CodeUse{use("a", "v2"), use("c", "v2")}, exp)
		if err != nil || claimed["a"] || !claimed["c"] {
			t.Fatalf("second claims: %v %v", claimed, err)
		}
		uses, err := s.CodeUses(ctx, []string{"a"})
		if err != nil || uses["a"].VenueID != "v1" {
			t.Fatalf("first use kept: %v %v", uses, err)
		}
	})
}

func TestLogScans(t *testing.T) {
	storetest.Each(t, checkLogScans)
	// With lib/pq's binary_parameters off, the arrays go in text form.
	t.Run("postgres text arrays", func(t *testing.T) {
		ctx := context.Background()
		u, err := url.Parse(storetest.NewPostgresDB(t))
		storetest.Must(t, err)
		q := u.Query()
		q.Set("binary_parameters", "no")
		u.RawQuery = q.Encode()
		s, err := store.Open(ctx, store.Options{DatabaseURL: u.String()})
		storetest.Must(t, err)
		t.Cleanup(func() { _ = s.Close() })
		_, err = s.Migrate(ctx)
		storetest.Must(t, err)
		checkLogScans(t, s)
	})
}

func checkLogScans(t *testing.T, s *store.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	exp := now.Add(time.Minute)
	past := now.Add(-time.Minute)
	member := "m-1"
	// Text that must survive the array encoding: quotes, backslashes,
	// braces, commas, NULL as a word, Japanese, an empty string.
	odd := `a"b\c{d},e NULL 髙橋 `
	row := func(hash, venue, result, detail string) store.ScanRecord {
		return store.ScanRecord{Verification: model.Verification{ID: uuid.NewString(), At: now, PartnerID: "p",
			VenueID: venue, APIKeyID: "k", Kind: "member", MemberID: &member, CodeHash: hash, Result: result, Detail: detail}}
	}
	// A claim's key is not always the code hash (a guest pass is
	// claimed per venue), so the claim keys here differ from it.
	key := func(hash string) string { return "claim:" + hash }
	claim := func(r store.ScanRecord, until *time.Time) store.ScanRecord {
		r.ClaimHash, r.ClaimExpires = key(r.CodeHash), until
		return r
	}
	follow := func(r store.ScanRecord) store.ScanRecord {
		r.ClaimHash = key(r.CodeHash)
		return r
	}
	first := []store.ScanRecord{
		claim(row("h1", "v1", "valid", ""), &exp),
		follow(row("h1", "v1", "valid", "repeat of the first")),
		claim(row("h2", "v1", "valid", odd), &exp),
		claim(row("h3", "v1", "valid", ""), &past), // expires at once: may be taken over
		row("h4", "v1", "invalid", ""),
	}
	first[4].MemberID = nil
	claimed, err := s.LogScans(ctx, first)
	if err != nil || len(claimed) != 3 || !claimed[key("h1")] || !claimed[key("h2")] || !claimed[key("h3")] {
		t.Fatalf("first batch claims %v, %v; want h1 h2 h3", claimed, err)
	}
	for _, r := range first {
		got, err := s.Verification(ctx, r.ID)
		if err != nil {
			t.Fatalf("verification %s (%s %s) not written: %v", r.ID, r.CodeHash, r.Detail, err)
		}
		if got.Detail != r.Detail || !got.At.Equal(now) || (got.MemberID == nil) != (r.MemberID == nil) || got.CardID != nil {
			t.Fatalf("round trip of %s: got %+v, want %+v", r.CodeHash, got, r.Verification)
		}
	}
	// A second batch: h1 is taken, so its scans are not written; h3's
	// claim has expired and is taken over; h5 is new.
	second := []store.ScanRecord{
		claim(row("h1", "v2", "valid", ""), &exp),
		follow(row("h1", "v2", "valid", "")),
		claim(row("h3", "v2", "valid", ""), &exp),
		claim(row("h5", "v2", "valid", ""), &exp),
	}
	claimed, err = s.LogScans(ctx, second)
	if err != nil || len(claimed) != 2 || claimed[key("h1")] || !claimed[key("h3")] || !claimed[key("h5")] {
		t.Fatalf("second batch claims %v, %v; want h3 h5", claimed, err)
	}
	for i, r := range second {
		_, err := s.Verification(ctx, r.ID)
		if written := err == nil; written != (i >= 2) {
			t.Fatalf("second batch row %d (%s): written %v (%v)", i, r.CodeHash, written, err)
		}
	}
	uses, err := s.CodeUses(ctx, []string{key("h1"), key("h3")})
	if err != nil || uses[key("h1")].VenueID != "v1" || uses[key("h3")].VenueID != "v2" || uses[key("h1")].VerificationID != first[0].ID {
		t.Fatalf("code uses after both batches: %+v %v", uses, err)
	}
	if claimed, err := s.LogScans(ctx, nil); err != nil || len(claimed) != 0 {
		t.Fatalf("empty batch: %v %v", claimed, err)
	}
}

func TestAuditIsOrderedAndFiltered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		p := &model.Principal{Kind: "token", ID: "k1", Name: "hr", Role: model.RoleHR}
		var ids []string
		for i := range 5 {
			id := uuid.Must(uuid.NewV7()).String()
			ids = append(ids, id)
			storetest.Must(t, s.InsertAudit(ctx, p.Audit(id, time.Now(), "member.create", "member", fmt.Sprint("m", i%2), "", "{}")))
		}
		es, err := s.ListAudit(ctx, store.AuditFilter{TargetID: "m0", Limit: 10})
		if err != nil || len(es) != 3 || es[0].ID != ids[4] {
			t.Fatalf("filtered audit: %v %v", es, err)
		}
		es, _ = s.ListAudit(ctx, store.AuditFilter{Limit: 2, Before: ids[2]})
		if len(es) != 2 || es[0].ID != ids[1] {
			t.Fatalf("cursor: %v", es)
		}
	})
}

// TestEventsReachSubscribers shows a change announced in a transaction
// reaches this process's subscribers after commit, and a rolled-back one
// never does.
func TestEventsReachSubscribers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		storetest.Must(t, s.Listen(ctx, discardLog()))
		got := make(chan store.Event, 10)
		s.Events().Subscribe(func(ev store.Event) {
			if ev.Kind != store.EventReset {
				got <- ev
			}
		})
		waitHealthy(t, s)
		rolled, kept := member("EV1"), member("EV2")
		storetest.Must(t, s.CreateMember(ctx, rolled))
		storetest.Must(t, s.CreateMember(ctx, kept))
		_ = s.InTx(ctx, func(tx *store.Tx) error {
			_ = tx.SetMemberStatus(ctx, rolled.ID, model.MemberActive, model.MemberSuspended, "", time.Now())
			return errors.New("roll back")
		})
		storetest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
			return tx.SetMemberStatus(ctx, kept.ID, model.MemberActive, model.MemberRevoked, "x", time.Now())
		}))
		seen := 0
		deadline := time.After(2 * time.Second)
		for done := false; !done; {
			select {
			case ev := <-got:
				if ev.Kind != store.EventMember || ev.ID != kept.ID {
					t.Fatalf("unexpected event %+v (a rolled-back change must never be announced)", ev)
				}
				seen++
			case <-deadline:
				done = true
			}
		}
		if seen == 0 {
			t.Fatal("no event after commit")
		}
	})
}

func waitHealthy(t *testing.T, s *store.Store) {
	for i := 0; i < 100 && !s.Events().Healthy(); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if !s.Events().Healthy() {
		t.Fatal("change feed did not connect")
	}
}

// TestMigrationsMatchAcrossDialects keeps the two migration folders in
// step: same versions, and the same tables with the same columns.
func TestMigrationsMatchAcrossDialects(t *testing.T) {
	ctx := context.Background()
	lite := storetest.Open(t, store.SQLite)
	pg := storetest.Open(t, store.Postgres)
	lv, err := lite.MigrationStatus(ctx)
	storetest.Must(t, err)
	pv, err := pg.MigrationStatus(ctx)
	storetest.Must(t, err)
	if len(lv) != len(pv) {
		t.Fatalf("sqlite has %d migrations, postgres %d", len(lv), len(pv))
	}
	for i := range lv {
		if lv[i].Version != pv[i].Version || !lv[i].Applied || !pv[i].Applied {
			t.Fatalf("migration %d: sqlite %+v postgres %+v", i, lv[i], pv[i])
		}
	}
	ls, err := lite.Schema(ctx)
	storetest.Must(t, err)
	ps, err := pg.Schema(ctx)
	storetest.Must(t, err)
	if a, b := flatten(ls), flatten(ps); a != b {
		t.Fatalf("schemas differ:\nsqlite:   %s\npostgres: %s", a, b)
	}
	if len(ls) < 15 {
		t.Fatalf("schema has only %d tables", len(ls))
	}
}

func flatten(s map[string][]string) string {
	var tables []string
	for t, cols := range s {
		sort.Strings(cols)
		tables = append(tables, t+"("+strings.Join(cols, ",")+")")
	}
	sort.Strings(tables)
	return strings.Join(tables, " ")
}

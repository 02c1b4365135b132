package main

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// memoryRedemption is a card holder's fixture with a perk without limits
// (the common counter transaction, decided from memory after a scan).
type memoryRedemption struct {
	f    *fixture
	perk string
}

func newMemoryRedemption(t *testing.T, ts *testServer) memoryRedemption {
	t.Helper()
	f := ts.newFixture("gold")
	perk := ts.must(ts.do("POST", "/api/v1/partners/"+f.PartnerID+"/perks", ts.HRToken, map[string]any{
		"title": "コーヒー一杯", "eligible_tiers": []string{"gold"}, "companions": 2}), 201).Str("id")
	return memoryRedemption{f: f, perk: perk}
}

// scan verifies the holder's current code on ts and returns the verification.
func (m memoryRedemption) scan(t *testing.T, ts *testServer) string {
	t.Helper()
	v := ts.verify(m.f.DeviceKey, m.f.cardCode(t, time.Now()))
	if v.Str("result") != "valid" {
		t.Fatalf("scan: %s", v.Body)
	}
	return v.Str("verification_id")
}

func (m memoryRedemption) redeem(ts *testServer, vid, perk, key string, party int) *response {
	return ts.do("POST", "/api/v1/redemptions", m.f.DeviceKey,
		map[string]any{"verification_id": vid, "perk_id": perk, "party_size": party}, "Idempotency-Key", key)
}

// factsRead is how many redemptions ts decided from memory and from the database.
func factsRead(ts *testServer) (memory, database uint64) {
	return ts.App.svc.Partners.RedemptionFactsRead()
}

// TestRedemptionFromMemoryAnswersAsTheDatabase: the redemption that follows
// a scan on the same instance is granted from memory, without reading its
// facts from the database, and every answer is still the one the database
// gives at the moment of writing: a change between the scan and the
// redemption — through the API, or written where this instance has not
// heard of it yet (another instance whose notice is on its way, simulated
// by an UPDATE that sends none) — refuses the grant with what changed, and
// retries and reused keys get their exact answers.
func TestRedemptionFromMemoryAnswersAsTheDatabase(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		unheard := func(q string, args ...any) {
			t.Helper()
			if _, err := ts.Store.DB().Exec(rebind(ts, q), args...); err != nil {
				t.Fatal(err)
			}
		}
		tokyo := time.Now().In(model.JST())
		notToday := model.Weekdays()[(tokyo.Weekday()+2)%7]
		for _, tc := range []struct {
			name   string
			change func(m memoryRedemption)
			party  int
			status int
			code   string
			memory bool // granted from memory
		}{
			{"unchanged", func(memoryRedemption) {}, 3, 201, "", true},
			{"tier changed through the API", func(m memoryRedemption) {
				ts.must(ts.do("PATCH", "/api/v1/members/"+m.f.MemberID, ts.HRToken, map[string]any{"tier": "silver"}), 200)
			}, 1, 409, "not_eligible", false},
			{"tier changed, notice not heard", func(m memoryRedemption) {
				unheard("UPDATE members SET tier = 'silver' WHERE id = ?", m.f.MemberID)
			}, 1, 409, "not_eligible", false},
			{"perk narrowed, notice not heard", func(m memoryRedemption) {
				unheard("UPDATE perks SET companions = 0 WHERE id = ?", m.perk)
			}, 3, 400, "party_too_large", false},
			{"perk's days changed, notice not heard", func(m memoryRedemption) {
				unheard("UPDATE perks SET days = ? WHERE id = ?", notToday, m.perk)
			}, 1, 409, "perk_not_available_now", false},
			{"perk given a daily limit, notice not heard", func(m memoryRedemption) {
				unheard("UPDATE perks SET limit_per_day = 1 WHERE id = ?", m.perk)
			}, 1, 201, "", false},
			{"perk withdrawn through the API", func(m memoryRedemption) {
				ts.must(ts.do("PATCH", "/api/v1/partners/"+m.f.PartnerID+"/perks/"+m.perk, ts.HRToken, map[string]any{"active": false}), 200)
			}, 1, 404, "perk_not_found", false},
			{"member suspended, notice not heard", func(m memoryRedemption) {
				unheard("UPDATE members SET status = 'suspended' WHERE id = ?", m.f.MemberID)
			}, 1, 409, "suspended", false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				m := newMemoryRedemption(t, ts)
				vid := m.scan(t, ts)
				tc.change(m)
				mem0, db0 := factsRead(ts)
				r := m.redeem(ts, vid, m.perk, uuid.NewString(), tc.party)
				if r.Status != tc.status || (tc.code != "" && r.Code() != tc.code) {
					t.Fatalf("want %d %s, got %d %s", tc.status, tc.code, r.Status, r.Body)
				}
				mem1, db1 := factsRead(ts)
				if fromMemory := mem1 == mem0+1 && db1 == db0; fromMemory != tc.memory {
					t.Errorf("granted from memory: %v, want %v (memory %d → %d, database %d → %d)", fromMemory, tc.memory, mem0, mem1, db0, db1)
				}
				var rows, uses int
				if err := ts.Store.DB().QueryRow(rebind(ts, "SELECT COUNT(*) FROM redemptions WHERE verification_id = ?"), vid).Scan(&rows); err != nil {
					t.Fatal(err)
				}
				if err := ts.Store.DB().QueryRow(rebind(ts, "SELECT COALESCE(SUM(uses), 0) FROM perk_usage WHERE perk_id = ?"), m.perk).Scan(&uses); err != nil {
					t.Fatal(err)
				}
				wantRows, wantUses := 0, 0
				if tc.status == 201 {
					wantRows = 1
				}
				if tc.name == "perk given a daily limit, notice not heard" {
					wantUses = 1 // counted against the limit it did not know of
				}
				if rows != wantRows || uses != wantUses {
					t.Fatalf("%d rows and %d uses counted, want %d and %d", rows, uses, wantRows, wantUses)
				}
			})
		}

		t.Run("retries and reused keys", func(t *testing.T) {
			m := newMemoryRedemption(t, ts)
			vid := m.scan(t, ts)
			key := uuid.NewString()
			first, again := m.redeem(ts, vid, m.perk, key, 2), m.redeem(ts, vid, m.perk, key, 2)
			if first.Status != 201 || again.Status != 200 || again.Str("id") != first.Str("id") || again.JSON["idempotent_replay"] != true {
				t.Fatalf("retry: %s after %s", again.Body, first.Body)
			}
			if r := m.redeem(ts, vid, m.f.PerkID, key, 1); r.Status != 409 || r.Code() != "idempotency_key_reused" {
				t.Fatalf("same key, another perk: %d %s", r.Status, r.Body)
			}
			if r := m.redeem(ts, vid, m.perk, uuid.NewString(), 2); r.Status != 409 || r.Code() != "already_redeemed" {
				t.Fatalf("same scan, another key: %d %s", r.Status, r.Body)
			}
		})
	})
}

// TestRedemptionOnAnotherInstance: two instances on one PostgreSQL. A scan
// answered by A is redeemed at B from the database (B never saw it); and a
// scan B answered, whose member's tier A changes a moment later, is
// refused at B at once, whether or not A's notice has reached B.
func TestRedemptionOnAnotherInstance(t *testing.T) {
	url := storetest.NewPostgresDB(t)
	key := ""
	for len(key) < 64 {
		key += "4d"
	}
	a := startServerOn(t, openTestStore(t, url, 8), key)
	b := startServerOn(t, openTestStore(t, url, 8), key)
	b.HRToken = a.HRToken

	m := newMemoryRedemption(t, a)
	vid := m.scan(t, a)
	mem0, db0 := factsRead(b)
	a.must(m.redeem(b, vid, m.perk, uuid.NewString(), 1), 201)
	if mem1, db1 := factsRead(b); mem1 != mem0 || db1 != db0+1 {
		t.Fatalf("B redeemed A's scan from memory %d → %d, database %d → %d; want the database", mem0, mem1, db0, db1)
	}

	for i := 0; i < 5; i++ {
		m := newMemoryRedemption(t, a)
		vid := m.scan(t, b)
		a.must(a.do("PATCH", "/api/v1/members/"+m.f.MemberID, a.HRToken, map[string]any{"tier": "silver"}), 200)
		if r := m.redeem(b, vid, m.perk, uuid.NewString(), 1); r.Status != 409 || r.Code() != "not_eligible" {
			t.Fatalf("try %d: B redeemed after A changed the tier: %d %s", i, r.Status, r.Body)
		}
	}
}

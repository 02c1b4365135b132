package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base32"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/credential"
	"github.com/alumnipass/alumnipass/internal/store"
)

// cardCode computes the card's code at t, as the phone does.
func (f *fixture) cardCode(t testing.TB, at time.Time) string {
	t.Helper()
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(f.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return credential.CardCode(f.SignedPart, credential.TOTP(secret, at))
}

func (ts *testServer) verify(key, code string) *response {
	ts.t.Helper()
	return ts.must(ts.do("POST", "/api/v1/verify", key, map[string]string{"code": code}), 200)
}

// TestVerifyOutcomes drives every decision of DESIGN.md section 5 through
// the HTTP API, on both databases.
func TestVerifyOutcomes(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		now := time.Now().UTC().Truncate(time.Second)
		ts.Clock.Set(now)
		f := ts.newFixture("gold")

		t.Run("valid", func(t *testing.T) {
			r := ts.verify(f.DeviceKey, f.cardCode(t, now))
			if r.Str("result") != "valid" || r.Str("verification_id") == "" || r.Str("kind") != "member" {
				t.Fatalf("want valid member, got %s", r.Body)
			}
			if r.Str("display_name") != "山田 太." || r.Str("tier") != "gold" || r.JSON["companions_allowed"].(float64) != 3 {
				t.Fatalf("holder fields wrong: %s", r.Body)
			}
			if perks, _ := r.JSON["perks"].([]any); len(perks) != 1 {
				t.Fatalf("want the venue's perk, got %s", r.Body)
			}
			for _, leak := range []string{"email", "employee_no", "given_name", "family_name"} {
				if _, ok := r.JSON[leak]; ok {
					t.Fatalf("partner answer carries %s: %s", leak, r.Body)
				}
			}
		})
		t.Run("repeat at the same venue returns the first verification", func(t *testing.T) {
			code := f.cardCode(t, now.Add(30*time.Second))
			ts.Clock.Set(now.Add(30 * time.Second))
			first := ts.verify(f.DeviceKey, code)
			again := ts.verify(f.DeviceKey, code)
			if again.Str("result") != "valid" || again.JSON["repeat"] != true || again.Str("verification_id") != first.Str("verification_id") {
				t.Fatalf("re-scan: first %s, again %s", first.Body, again.Body)
			}
		})
		t.Run("replayed at another venue", func(t *testing.T) {
			ts.Clock.Set(now.Add(60 * time.Second))
			code := f.cardCode(t, now.Add(60*time.Second))
			ts.verify(f.DeviceKey, code)
			v2 := ts.must(ts.do("POST", "/api/v1/partners/"+f.PartnerID+"/venues", ts.HRToken, map[string]string{"name": "二号店"}), 201)
			k2 := ts.must(ts.do("POST", "/api/v1/partners/"+f.PartnerID+"/keys", ts.HRToken, map[string]string{"name": "tablet 2", "venue_id": v2.Str("id")}), 201)
			r := ts.verify(k2.Str("key"), code)
			if r.Str("result") != "replayed" || r.Str("first_venue") == "" || r.Str("first_used_at") == "" || r.Str("verification_id") != "" {
				t.Fatalf("want replayed with first use, got %s", r.Body)
			}
		})
		t.Run("stale says how far off", func(t *testing.T) {
			ts.Clock.Set(now.Add(10 * time.Minute))
			r := ts.verify(f.DeviceKey, f.cardCode(t, now.Add(5*time.Minute)))
			if r.Str("result") != "stale" || r.JSON["offset_seconds"].(float64) != -300 {
				t.Fatalf("want stale -300 s, got %s", r.Body)
			}
			ts.Clock.Set(now)
		})
		t.Run("invalid", func(t *testing.T) {
			for _, code := range []string{"hello", "AP1:C123456", f.cardCode(t, now)[:60], "AP2:" + f.cardCode(t, now)[4:]} {
				if r := ts.verify(f.DeviceKey, code); r.Str("result") != "invalid" || r.Str("verification_id") != "" {
					t.Fatalf("%q: want invalid, got %s", code, r.Body)
				}
			}
			// A signature that does not match the card on record.
			code := []byte(f.cardCode(t, now))
			code[len(code)-3] ^= 0x01
			if r := ts.verify(f.DeviceKey, string(code)); r.Str("result") == "valid" {
				t.Fatalf("altered code accepted: %s", r.Body)
			}
		})
		t.Run("unknown key", func(t *testing.T) {
			_, priv, _ := ed25519.GenerateKey(rand.Reader)
			kid := credential.KeyIDOf(priv.Public().(ed25519.PublicKey))
			signed, err := credential.SignCard(priv, credential.Card{KeyID: kid, CardID: uuid.New(), IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour), Companions: 1, Tier: "gold"})
			if err != nil {
				t.Fatal(err)
			}
			if r := ts.verify(f.DeviceKey, credential.CardCode(signed, "123456")); r.Str("result") != "unknown_key" {
				t.Fatalf("want unknown_key, got %s", r.Body)
			}
		})
		t.Run("expired and not yet valid", func(t *testing.T) {
			later := now.Add(4 * 365 * 24 * time.Hour)
			ts.Clock.Set(later)
			if r := ts.verify(f.DeviceKey, f.cardCode(t, later)); r.Str("result") != "expired" {
				t.Fatalf("want expired, got %s", r.Body)
			}
			earlier := now.Add(-time.Hour)
			ts.Clock.Set(earlier)
			if r := ts.verify(f.DeviceKey, f.cardCode(t, earlier)); r.Str("result") != "not_yet_valid" {
				t.Fatalf("want not_yet_valid, got %s", r.Body)
			}
			ts.Clock.Set(now)
		})
		t.Run("not eligible", func(t *testing.T) {
			p := ts.must(ts.do("POST", "/api/v1/partners", ts.HRToken, map[string]string{"name": "Hotel", "kind": "hotel"}), 201)
			ts.must(ts.do("POST", "/api/v1/partners/"+p.Str("id")+"/perks", ts.HRToken, map[string]any{"title": "Suite", "eligible_tiers": []string{"platinum"}, "companions": 1}), 201)
			k := ts.must(ts.do("POST", "/api/v1/partners/"+p.Str("id")+"/keys", ts.HRToken, map[string]string{"name": "desk"}), 201)
			ts.Clock.Set(now.Add(90 * time.Second))
			if r := ts.verify(k.Str("key"), f.cardCode(t, now.Add(90*time.Second))); r.Str("result") != "not_eligible" {
				t.Fatalf("want not_eligible, got %s", r.Body)
			}
			ts.Clock.Set(now)
		})
		t.Run("suspended, reinstated, revoked", func(t *testing.T) {
			g := ts.newFixture("standard")
			step := func(i int) string {
				at := now.Add(time.Duration(i) * 30 * time.Second)
				ts.Clock.Set(at)
				return g.cardCode(t, at)
			}
			ts.must(ts.do("POST", "/api/v1/members/"+g.MemberID+"/suspend", ts.HRToken, nil), 200)
			if r := ts.verify(g.DeviceKey, step(4)); r.Str("result") != "suspended" {
				t.Fatalf("want suspended, got %s", r.Body)
			}
			ts.must(ts.do("POST", "/api/v1/members/"+g.MemberID+"/reinstate", ts.HRToken, nil), 200)
			if r := ts.verify(g.DeviceKey, step(5)); r.Str("result") != "valid" {
				t.Fatalf("want valid after reinstating, got %s", r.Body)
			}
			if r := ts.do("POST", "/api/v1/members/"+g.MemberID+"/revoke", ts.HRToken, map[string]string{}); r.Status != 400 || r.Code() != "reason_required" {
				t.Fatalf("revoke without a reason: %d %s", r.Status, r.Body)
			}
			ts.must(ts.do("POST", "/api/v1/members/"+g.MemberID+"/revoke", ts.HRToken, map[string]string{"reason": "退職時の規約違反"}), 200)
			if r := ts.verify(g.DeviceKey, step(6)); r.Str("result") != "revoked" {
				t.Fatalf("want revoked, got %s", r.Body)
			}
			ts.Clock.Set(now)
		})
		t.Run("guest pass valid, redeemed, used up", func(t *testing.T) {
			ts.Clock.Set(time.Time{})
			g := ts.must(ts.do("POST", "/api/v1/wallet/guest-passes", f.WalletToken, map[string]any{
				"party_size": 2, "valid_until": time.Now().Add(48 * time.Hour).Format(time.RFC3339)}), 201)
			code := g.Str("code")
			v := ts.verify(f.DeviceKey, code)
			if v.Str("result") != "valid" || v.Str("kind") != "guest" || v.JSON["party_size"].(float64) != 2 {
				t.Fatalf("want valid guest, got %s", v.Body)
			}
			ts.must(ts.do("POST", "/api/v1/redemptions", f.DeviceKey, map[string]any{"verification_id": v.Str("verification_id"), "perk_id": f.PerkID, "party_size": 2},
				"Idempotency-Key", uuid.NewString()), 201)
			u := ts.verify(f.DeviceKey, code)
			if u.Str("result") != "used_up" || u.Str("first_used_at") == "" || u.Str("first_venue") == "" {
				t.Fatalf("want used_up with first use, got %s", u.Body)
			}
		})
		t.Run("only venue keys verify", func(t *testing.T) {
			if r := ts.do("POST", "/api/v1/verify", ts.HRToken, map[string]string{"code": "x"}); r.Status != 403 {
				t.Fatalf("HR token verified: %d %s", r.Status, r.Body)
			}
			if r := ts.do("POST", "/api/v1/verify", "", map[string]string{"code": "x"}); r.Status != 401 || r.Code() != "unauthorized" {
				t.Fatalf("anonymous verify: %d %s", r.Status, r.Body)
			}
		})
	})
}

// TestVerifyFailsClosed shows that a database that cannot answer gives 503,
// never a decision.
func TestVerifyFailsClosed(t *testing.T) {
	ts := startServer(t, store.SQLite)
	now := time.Now()
	f := ts.newFixture("gold")
	if r := ts.verify(f.DeviceKey, f.cardCode(t, now)); r.Str("result") != "valid" {
		t.Fatalf("setup: %s", r.Body)
	}
	if err := ts.Store.Close(); err != nil {
		t.Fatal(err)
	}
	r := ts.do("POST", "/api/v1/verify", f.DeviceKey, map[string]string{"code": f.cardCode(t, now.Add(30*time.Second))})
	if r.Status != 503 || r.Code() != "unavailable" {
		t.Fatalf("want 503 unavailable with the database closed, got %d %s", r.Status, r.Body)
	}
	if r := ts.do("GET", "/readyz", "", nil); r.Status != 503 {
		t.Fatalf("readyz with the database closed: %d", r.Status)
	}
}

package main

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestRedemptionRules(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		f := ts.newFixture("gold")
		now := time.Now()
		ts.Clock.Set(now)
		v := ts.verify(f.DeviceKey, f.cardCode(t, now))
		vid := v.Str("verification_id")
		redeem := func(key string, body map[string]any) *response {
			return ts.do("POST", "/api/v1/redemptions", f.DeviceKey, body, "Idempotency-Key", key)
		}
		if r := redeem("", map[string]any{"verification_id": vid, "perk_id": f.PerkID, "party_size": 1}); r.Status != 400 || r.Code() != "idempotency_key_required" {
			t.Fatalf("no key: %d %s", r.Status, r.Body)
		}
		for _, tc := range []struct {
			body map[string]any
			code string
		}{
			{map[string]any{"verification_id": vid, "perk_id": f.PerkID, "party_size": 5}, "party_too_large"},
			{map[string]any{"verification_id": vid, "perk_id": f.PerkID, "party_size": -1}, "invalid_party_size"},
			{map[string]any{"verification_id": vid, "perk_id": uuid.NewString(), "party_size": 1}, "perk_not_found"},
			{map[string]any{"verification_id": uuid.NewString(), "perk_id": f.PerkID, "party_size": 1}, "verification_not_found"},
			{map[string]any{"verification_id": "x", "perk_id": f.PerkID, "party_size": 1}, "invalid_verification_id"},
		} {
			if r := redeem(uuid.NewString(), tc.body); r.Code() != tc.code {
				t.Fatalf("%v: want %s, got %d %s", tc.body, tc.code, r.Status, r.Body)
			}
		}
		if n := ts.count("redemptions"); n != 0 {
			t.Fatalf("refused redemptions wrote %d rows", n)
		}
		key := uuid.NewString()
		first := ts.must(redeem(key, map[string]any{"verification_id": vid, "perk_id": f.PerkID, "party_size": 4}), 201)
		again := ts.must(redeem(key, map[string]any{"verification_id": vid, "perk_id": f.PerkID, "party_size": 4}), 200)
		if again.Str("id") != first.Str("id") || again.JSON["idempotent_replay"] != true {
			t.Fatalf("retry: %s vs %s", first.Body, again.Body)
		}
		if r := redeem(key, map[string]any{"verification_id": vid, "perk_id": f.PerkID, "party_size": 2}); r.Status != 409 || r.Code() != "idempotency_key_reused" {
			t.Fatalf("key reused for another body: %d %s", r.Status, r.Body)
		}
		if r := redeem(uuid.NewString(), map[string]any{"verification_id": vid, "perk_id": f.PerkID, "party_size": 1}); r.Status != 409 || r.Code() != "already_redeemed" {
			t.Fatalf("second redemption of one scan: %d %s", r.Status, r.Body)
		}
		// The fixture perk allows 5 a day: four more scans, then the limit.
		for i := 1; i <= 5; i++ {
			at := now.Add(time.Duration(i) * 30 * time.Second)
			ts.Clock.Set(at)
			v := ts.verify(f.DeviceKey, f.cardCode(t, at))
			r := redeem(uuid.NewString(), map[string]any{"verification_id": v.Str("verification_id"), "perk_id": f.PerkID, "party_size": 1})
			if i < 5 && r.Status != 201 || i == 5 && (r.Status != 409 || r.Code() != "daily_limit_reached") {
				t.Fatalf("use %d: %d %s", i+1, r.Status, r.Body)
			}
		}
		// A scan older than the redemption window cannot be redeemed.
		ts.Clock.Set(now.Add(2 * time.Hour))
		if r := redeem(uuid.NewString(), map[string]any{"verification_id": vid, "perk_id": f.PerkID, "party_size": 1}); r.Code() != "verification_too_old" {
			t.Fatalf("old scan: %d %s", r.Status, r.Body)
		}
		// The partner's report shows a pseudonym, never the member.
		rep := ts.must(ts.do("GET", "/api/v1/partners/"+f.PartnerID+"/redemptions", ts.HRToken, nil), 200)
		lines := rep.JSON["redemptions"].([]any)
		if len(lines) != 5 {
			t.Fatalf("report lines: %s", rep.Body)
		}
		m := lines[0].(map[string]any)["member"].(string)
		if len(m) != 18 || m[:2] != "m_" || m == f.MemberID {
			t.Fatalf("pseudonym %q", m)
		}
		csv := ts.must(ts.do("GET", "/api/v1/partners/"+f.PartnerID+"/redemptions?format=csv", ts.HRToken, nil), 200)
		if string(csv.Body[:3]) != "\xef\xbb\xbf" {
			t.Fatal("CSV export lacks the UTF-8 BOM Excel needs")
		}
	})
}

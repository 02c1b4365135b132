package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestExportAndErase: a member's data can be disclosed and erased on
// request; the erased member's card is refused, and the partner's
// aggregate report keeps its counts.
func TestExportAndErase(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		admin, err := ts.App.svc.Auth.CreateHRToken(t.Context(), "admin", "admin")
		if err != nil {
			t.Fatal(err)
		}
		f := ts.newFixture("gold")
		now := time.Now()
		ts.Clock.Set(now)
		v := ts.verify(f.DeviceKey, f.cardCode(t, now))
		ts.must(ts.do("POST", "/api/v1/redemptions", f.DeviceKey, map[string]any{"verification_id": v.Str("verification_id"), "perk_id": f.PerkID, "party_size": 2},
			"Idempotency-Key", uuid.NewString()), 201)

		exp := ts.must(ts.do("GET", "/api/v1/members/"+f.MemberID+"/export", ts.HRToken, nil), 200)
		if exp.JSON["member"].(map[string]any)["email"] == "" || len(exp.JSON["redemptions"].([]any)) != 1 || len(exp.JSON["verifications"].([]any)) != 1 {
			t.Fatalf("export: %s", exp.Body)
		}
		if strings.Contains(string(exp.Body), f.Secret) || strings.Contains(string(exp.Body), "totp") {
			t.Fatal("export carries a secret")
		}
		if r := ts.do("POST", "/api/v1/members/"+f.MemberID+"/erase", ts.HRToken, map[string]string{"reason": "APPI-2026-001"}); r.Status != 403 {
			t.Fatalf("hr may not erase: %d", r.Status)
		}
		if r := ts.do("POST", "/api/v1/members/"+f.MemberID+"/erase", admin, map[string]string{}); r.Code() != "reason_required" {
			t.Fatalf("erase without reason: %s", r.Body)
		}
		ts.must(ts.do("POST", "/api/v1/members/"+f.MemberID+"/erase", admin, map[string]string{"reason": "APPI-2026-001"}), 200)
		m := ts.must(ts.do("GET", "/api/v1/members/"+f.MemberID, ts.HRToken, nil), 200)
		if m.Str("family_name") != "(erased)" || strings.Contains(m.Str("email"), "example.com") || m.Str("status") != "revoked" {
			t.Fatalf("erased member: %s", m.Body)
		}
		at := now.Add(30 * time.Second)
		ts.Clock.Set(at)
		if r := ts.verify(f.DeviceKey, f.cardCode(t, at)); r.Str("result") != "revoked" {
			t.Fatalf("erased member's card: %s", r.Body)
		}
		rep := ts.must(ts.do("GET", "/api/v1/partners/"+f.PartnerID+"/redemptions", ts.HRToken, nil), 200)
		if n := len(rep.JSON["redemptions"].([]any)); n != 1 {
			t.Fatalf("report lost the erased member's redemption: %d", n)
		}
	})
}

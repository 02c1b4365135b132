package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/model"
)

// TestAccessMatrix checks every API route against every kind of caller:
// who may do what. Allowed callers must not get 401/403; everyone else must.
func TestAccessMatrix(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		ctx := context.Background()
		a := ts.newFixture("gold")
		b := ts.newFixture("gold")
		tok := func(role string) string {
			s, err := ts.App.svc.Auth.CreateHRToken(ctx, "matrix "+role, role)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		callers := map[string]string{
			"anonymous": "",
			"wallet":    a.WalletToken,
			"deviceA":   a.DeviceKey,
			"deviceB":   b.DeviceKey,
			"viewer":    tok(model.RoleViewer),
			"hr":        ts.HRToken,
			"admin":     tok(model.RoleAdmin),
		}
		read := []string{"viewer", "hr", "admin"}
		write := []string{"hr", "admin"}
		routes := []struct {
			method, path string
			body         any
			allowed      []string
		}{
			{"GET", "/api/v1/members", nil, read},
			{"POST", "/api/v1/members", map[string]string{"employee_no": "X"}, write},
			{"GET", "/api/v1/members/" + a.MemberID, nil, read},
			{"POST", "/api/v1/members/" + uuid.NewString() + "/suspend", nil, write},
			{"POST", "/api/v1/members/" + uuid.NewString() + "/reinstate", nil, write},
			{"POST", "/api/v1/members/" + uuid.NewString() + "/revoke", map[string]string{"reason": "x"}, write},
			{"POST", "/api/v1/members/" + uuid.NewString() + "/cards", nil, write},
			{"GET", "/api/v1/members/" + uuid.NewString() + "/export", nil, write},
			{"POST", "/api/v1/members/" + uuid.NewString() + "/erase", map[string]string{"reason": "x"}, []string{"admin"}},
			{"POST", "/api/v1/members/import?dry_run=1", []byte("employee_no\n"), write},
			{"GET", "/api/v1/audit", nil, read},
			{"POST", "/api/v1/partners", map[string]string{"name": ""}, write},
			{"GET", "/api/v1/partners", nil, read},
			{"GET", "/api/v1/partners/" + a.PartnerID, nil, read},
			{"POST", "/api/v1/partners/" + a.PartnerID + "/venues", map[string]string{"name": ""}, write},
			{"POST", "/api/v1/partners/" + a.PartnerID + "/keys", map[string]string{"name": ""}, write},
			{"GET", "/api/v1/partners/" + a.PartnerID + "/keys", nil, write},
			{"POST", "/api/v1/partners/" + a.PartnerID + "/oidc-clients", map[string]string{"name": ""}, write},
			{"GET", "/api/v1/partners/" + a.PartnerID + "/oidc-clients", nil, write},
			{"POST", "/api/v1/partners/" + a.PartnerID + "/oidc-clients/" + uuid.NewString() + "/revoke", nil, write},
			// Only a member's OpenID access token (none of these callers) records online.
			{"POST", "/api/v1/online-redemptions", map[string]any{"perk_id": a.PerkID, "party_size": 1, "booking_reference": "x"}, nil},
			{"POST", "/api/v1/partners/" + a.PartnerID + "/pairing-codes", map[string]string{"name": strings.Repeat("x", 200)}, write},
			{"POST", "/api/v1/partners/" + a.PartnerID + "/perks", map[string]string{"title": ""}, write},
			{"GET", "/api/v1/partners/" + a.PartnerID + "/perks", nil, read},
			{"GET", "/api/v1/partners/" + a.PartnerID + "/redemptions", nil, read},
			{"PATCH", "/api/v1/members/" + uuid.NewString(), map[string]string{"tier": "gold"}, write},
			{"PATCH", "/api/v1/partners/" + uuid.NewString(), map[string]any{"name": "x"}, write},
			{"PATCH", "/api/v1/partners/" + a.PartnerID + "/venues/" + uuid.NewString(), map[string]any{"name": "x"}, write},
			{"PATCH", "/api/v1/partners/" + a.PartnerID + "/perks/" + uuid.NewString(), map[string]any{"companions": 1}, write},
			{"POST", "/api/v1/invitations", map[string]any{}, write},
			{"GET", "/api/v1/invitations", nil, read},
			{"GET", "/api/v1/invitations/" + uuid.NewString(), nil, read},
			{"GET", "/api/v1/invitations/" + uuid.NewString() + "/items", nil, read},
			{"POST", "/api/v1/invitations/" + uuid.NewString() + "/cancel", nil, write},
			{"GET", "/api/v1/members/" + a.MemberID + "/guest-passes", nil, read},
			{"GET", "/api/v1/members/" + a.MemberID + "/redemptions", nil, read},
			{"GET", "/api/v1/users", nil, []string{"admin"}},
			{"PATCH", "/api/v1/users/" + uuid.NewString(), map[string]any{"active": false}, []string{"admin"}},
			{"POST", "/api/v1/users/" + uuid.NewString() + "/reset-password", map[string]any{"password": "x"}, []string{"admin"}},
			{"POST", "/api/v1/users/" + uuid.NewString() + "/reset-second-factor", nil, []string{"admin"}},
			{"POST", "/api/v1/verify", map[string]string{"code": "x"}, []string{"deviceA", "deviceB"}},
			{"POST", "/api/v1/redemptions", map[string]string{}, []string{"deviceA", "deviceB"}},
			{"GET", "/api/v1/devices/me", nil, []string{"deviceA", "deviceB"}},
			{"GET", "/api/v1/wallet/code", nil, []string{"wallet"}},
			{"GET", "/api/v1/wallet/code.png", nil, []string{"wallet"}},
			{"POST", "/api/v1/wallet/guest-passes", map[string]any{"party_size": 0}, []string{"wallet"}},
			{"POST", "/api/v1/wallet/guest-passes/" + uuid.NewString() + "/cancel", nil, []string{"wallet"}},
		}
		for _, rt := range routes {
			for name, token := range callers {
				allowed := contains(rt.allowed, name)
				r := ts.do(rt.method, rt.path, token, rt.body)
				refused := r.Status == 401 || r.Status == 403
				if allowed == refused {
					t.Errorf("%s %s as %s: status %d (allowed=%v): %s", rt.method, rt.path, name, r.Status, allowed, r.Body)
				}
				if refused && r.Code() == "" {
					t.Errorf("%s %s as %s: refusal without an error code: %s", rt.method, rt.path, name, r.Body)
				}
			}
		}

		// Partner A's device cannot redeem partner B's verification.
		vb := ts.verify(b.DeviceKey, b.cardCode(t, time.Now()))
		r := ts.do("POST", "/api/v1/redemptions", a.DeviceKey, map[string]any{"verification_id": vb.Str("verification_id"), "perk_id": b.PerkID, "party_size": 1},
			"Idempotency-Key", uuid.NewString())
		if r.Status != 404 || r.Code() != "verification_not_found" {
			t.Fatalf("cross-partner redemption: %d %s", r.Status, r.Body)
		}
		// A revoked device key stops at once.
		keys := ts.must(ts.do("GET", "/api/v1/partners/"+a.PartnerID+"/keys", ts.HRToken, nil), 200)
		kid := keys.JSON["keys"].([]any)[0].(map[string]any)["id"].(string)
		ts.must(ts.do("POST", "/api/v1/partners/"+a.PartnerID+"/keys/"+kid+"/revoke", ts.HRToken, nil), 200)
		if r := ts.do("POST", "/api/v1/verify", a.DeviceKey, map[string]string{"code": "x"}); r.Status != 401 || r.Code() != "key_revoked" {
			t.Fatalf("revoked key: %d %s", r.Status, r.Body)
		}
		// Every key of a deactivated partner stops at once.
		if r := ts.do("POST", "/api/v1/verify", b.DeviceKey, map[string]string{"code": "x"}); r.Status != 200 && r.Status != 400 {
			t.Fatalf("partner B before its deactivation: %d %s", r.Status, r.Body)
		}
		ts.must(ts.do("PATCH", "/api/v1/partners/"+b.PartnerID, ts.HRToken, map[string]any{"active": false}), 200)
		if r := ts.do("POST", "/api/v1/verify", b.DeviceKey, map[string]string{"code": "x"}); r.Status != 401 || r.Code() != "key_revoked" {
			t.Fatalf("a deactivated partner's key: %d %s", r.Status, r.Body)
		}
	})
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

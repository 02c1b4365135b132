package main

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/alumnipass/alumnipass/internal/model"
)

// TestPartnerTokens: a partner's own systems get an API token (from HR
// through the API, or from the partner manager in the /partner console)
// with a partner manager's rights on that partner only: venues, device
// keys, perks and its report — never another partner, HR's routes or a
// scan. Revoking it stops it at the next request. Both databases.
func TestPartnerTokens(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		a, b := ts.newFixture("gold"), ts.newFixture("gold")
		hrIssued := ts.must(ts.do("POST", "/api/v1/partners/"+a.PartnerID+"/tokens", ts.HRToken, map[string]string{"name": "POS vendor"}), 201)
		if !strings.HasPrefix(hrIssued.Str("key"), "aph_") || hrIssued.Str("partner_id") != a.PartnerID {
			t.Fatalf("token from HR: %s", hrIssued.Body)
		}

		pm := ts.consoleAs(model.RolePartnerManager, a.PartnerID)
		page := pm.want(pm.post("/partner/tokens", url.Values{"name": {"back office"}}), 200)
		m := regexp.MustCompile(`<code id="new-key">(aph_[a-z0-9]+)</code>`).FindStringSubmatch(page.Body)
		if m == nil {
			t.Fatalf("the console shows no new token: %.2000s", page.Body)
		}
		for _, tok := range []string{hrIssued.Str("key"), m[1]} {
			// Its own partner: allowed.
			ts.must(ts.do("GET", "/api/v1/partners/"+a.PartnerID, tok, nil), 200)
			ts.must(ts.do("POST", "/api/v1/partners/"+a.PartnerID+"/venues", tok, map[string]string{"name": "支店"}), 201)
			ts.must(ts.do("POST", "/api/v1/partners/"+a.PartnerID+"/keys", tok, map[string]string{"name": "till 2"}), 201)
			ts.must(ts.do("POST", "/api/v1/partners/"+a.PartnerID+"/perks", tok, map[string]any{"title": "デザート", "eligible_tiers": []string{"*"}}), 201)
			ts.must(ts.do("GET", "/api/v1/partners/"+a.PartnerID+"/perks", tok, nil), 200)
			ts.must(ts.do("GET", "/api/v1/partners/"+a.PartnerID+"/redemptions", tok, nil), 200)
			list := ts.must(ts.do("GET", "/api/v1/partners", tok, nil), 200).JSON["partners"].([]any)
			if len(list) != 1 || list[0].(map[string]any)["id"] != a.PartnerID {
				t.Fatalf("a partner token lists %v", list)
			}
			// Another partner: not found, and nothing written there.
			ts.must(ts.do("GET", "/api/v1/partners/"+b.PartnerID, tok, nil), 404)
			ts.must(ts.do("POST", "/api/v1/partners/"+b.PartnerID+"/venues", tok, map[string]string{"name": "x"}), 404)
			ts.must(ts.do("POST", "/api/v1/partners/"+b.PartnerID+"/tokens", tok, map[string]string{"name": "x"}), 404)
			if vs := ts.must(ts.do("GET", "/api/v1/partners/"+b.PartnerID, ts.HRToken, nil), 200).JSON["venues"].([]any); len(vs) != 1 {
				t.Fatalf("partner B has %d venues", len(vs))
			}
			// HR's routes and scanning: refused.
			for _, r := range []struct{ method, path string }{
				{"GET", "/api/v1/members"}, {"GET", "/api/v1/audit"}, {"POST", "/api/v1/partners"},
				{"POST", "/api/v1/verify"}, {"POST", "/api/v1/members/" + a.MemberID + "/suspend"},
			} {
				if got := ts.do(r.method, r.path, tok, map[string]string{}); got.Status != 403 {
					t.Errorf("%s %s with a partner token: %d", r.method, r.path, got.Status)
				}
			}
		}

		keys := ts.must(ts.do("GET", "/api/v1/partners/"+a.PartnerID+"/keys", ts.HRToken, nil), 200).JSON["keys"].([]any)
		tokens := 0
		for _, k := range keys {
			if k.(map[string]any)["role"] == model.RolePartnerManager {
				tokens++
			}
		}
		if tokens != 2 {
			t.Fatalf("%d partner tokens listed: %v", tokens, keys)
		}
		ts.must(ts.do("POST", "/api/v1/partners/"+a.PartnerID+"/keys/"+hrIssued.Str("id")+"/revoke", ts.HRToken, nil), 200)
		if r := ts.do("GET", "/api/v1/partners/"+a.PartnerID, hrIssued.Str("key"), nil); r.Status != 401 {
			t.Fatalf("a revoked partner token: %d %s", r.Status, r.Body)
		}
		audit := string(ts.must(ts.do("GET", "/api/v1/audit?action=partner_token.create", ts.HRToken, nil), 200).Body)
		if strings.Count(audit, `"partner_token.create"`) != 2 {
			t.Fatalf("audit: %s", audit)
		}
	})
}

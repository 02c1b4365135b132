package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// oidcHTTP follows no redirects: each step of the flow is checked.
var oidcHTTP = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type oidcAnswer struct {
	Status   int
	Location string
	Body     string
	JSON     map[string]any
}

func oidcDo(t *testing.T, req *http.Request) oidcAnswer {
	t.Helper()
	resp, err := oidcHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := oidcAnswer{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Body: string(b)}
	_ = json.Unmarshal(b, &a.JSON)
	return a
}

func challengeOf(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorize starts a sign-in with the given parameters (PKCE S256 from the
// verifier unless it is empty).
func authorize(t *testing.T, ts *testServer, site *partnerSite, redirectURI, verifier string) oidcAnswer {
	t.Helper()
	q := url.Values{"client_id": {site.ClientID}, "redirect_uri": {redirectURI}, "response_type": {"code"},
		"scope": {"openid alumnipass"}, "state": {"st"}, "nonce": {"nn"}}
	if verifier != "" {
		q.Set("code_challenge", challengeOf(verifier))
		q.Set("code_challenge_method", "S256")
	}
	req, _ := http.NewRequest("GET", ts.URL+"/oidc/authorize?"+q.Encode(), nil)
	return oidcDo(t, req)
}

// approveAs answers the consent page with a wallet's cookie.
func approveAs(t *testing.T, ts *testServer, walletToken, id, action string) oidcAnswer {
	t.Helper()
	csrf := strings.Repeat("c", 40)
	form := url.Values{"_csrf": {csrf}, "id": {id}, "action": {action}}
	req, _ := http.NewRequest("POST", ts.URL+"/oidc/approve", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", "ap_wallet="+walletToken+"; ap_csrf="+csrf)
	return oidcDo(t, req)
}

// codeFor runs authorize → approve → callback and returns the code.
func codeFor(t *testing.T, ts *testServer, site *partnerSite, walletToken, verifier string) string {
	t.Helper()
	a := authorize(t, ts, site, site.URL+"/cb", verifier)
	if a.Status != http.StatusFound || !strings.HasPrefix(a.Location, "/oidc/approve?id=") {
		t.Fatalf("authorize: %d %q %s", a.Status, a.Location, a.Body)
	}
	id := strings.TrimPrefix(a.Location, "/oidc/approve?id=")
	ap := approveAs(t, ts, walletToken, id, "approve")
	if ap.Status != http.StatusSeeOther || !strings.HasPrefix(ap.Location, ts.URL+"/oidc/authorize/callback?id=") {
		t.Fatalf("approve: %d %q %s", ap.Status, ap.Location, ap.Body)
	}
	req, _ := http.NewRequest("GET", ap.Location, nil)
	cb := oidcDo(t, req)
	u, err := url.Parse(cb.Location)
	if cb.Status != http.StatusFound || err != nil || !strings.HasPrefix(cb.Location, site.URL+"/cb?") || u.Query().Get("code") == "" || u.Query().Get("state") != "st" {
		t.Fatalf("callback: %d %q %s", cb.Status, cb.Location, cb.Body)
	}
	return u.Query().Get("code")
}

// exchange trades a code at the token endpoint as site's client.
func exchange(t *testing.T, ts *testServer, site *partnerSite, code, redirectURI, verifier string) oidcAnswer {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	req, _ := http.NewRequest("POST", ts.URL+"/oidc/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(site.ClientID), url.QueryEscape(site.Secret))
	return oidcDo(t, req)
}

func userinfoStatus(t *testing.T, ts *testServer, accessToken string) oidcAnswer {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.URL+"/oidc/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	return oidcDo(t, req)
}

// TestOIDCDiscovery: the discovery document says pairwise subjects, S256
// only, the code flow, and the JWKS holds an RS256 key.
func TestOIDCDiscovery(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		req, _ := http.NewRequest("GET", ts.URL+"/oidc/.well-known/openid-configuration", nil)
		d := oidcDo(t, req)
		if d.Status != 200 || d.JSON["issuer"] != ts.URL+"/oidc" {
			t.Fatalf("discovery: %d %s", d.Status, d.Body)
		}
		for k, want := range map[string]string{"subject_types_supported": `["pairwise"]`, "code_challenge_methods_supported": `["S256"]`,
			"response_types_supported": `["code"]`, "id_token_signing_alg_values_supported": `["RS256"]`} {
			got, _ := json.Marshal(d.JSON[k])
			if string(got) != want {
				t.Errorf("%s = %s, want %s", k, got, want)
			}
		}
		jwks, _ := d.JSON["jwks_uri"].(string)
		req, _ = http.NewRequest("GET", jwks, nil)
		k := oidcDo(t, req)
		keys, _ := k.JSON["keys"].([]any)
		if k.Status != 200 || len(keys) != 1 || keys[0].(map[string]any)["alg"] != "RS256" || keys[0].(map[string]any)["d"] != nil {
			t.Fatalf("jwks: %d %s", k.Status, k.Body)
		}
	})
}

// TestOIDCRefusals: what the provider must refuse — a redirect URI that is
// not registered, a sign-in without PKCE, a wrong verifier, a code used
// twice (which also revokes the first token), a code stolen by another
// client, an expired code or token, a revoked client, a declined consent.
func TestOIDCRefusals(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		f := ts.newFixture("gold")
		other := ts.newFixture("gold")
		site := newPartnerSite(t, ts, f.PartnerID)
		thief := newPartnerSite(t, ts, other.PartnerID)
		verifier := strings.Repeat("v", 50)

		t.Run("unregistered redirect URI", func(t *testing.T) {
			a := authorize(t, ts, site, "https://evil.example/cb", verifier)
			if a.Status < 400 || strings.Contains(a.Location, "evil.example") {
				t.Fatalf("authorize with a foreign redirect: %d %q", a.Status, a.Location)
			}
			a = authorize(t, ts, site, site.URL+"/cb/../other", verifier)
			if a.Status < 400 || a.Location != "" {
				t.Fatalf("authorize with a near-miss redirect: %d %q", a.Status, a.Location)
			}
		})
		t.Run("no PKCE", func(t *testing.T) {
			a := authorize(t, ts, site, site.URL+"/cb", "")
			u, _ := url.Parse(a.Location)
			if a.Status != http.StatusFound || !strings.HasPrefix(a.Location, site.URL+"/cb?") || u.Query().Get("error") != "invalid_request" {
				t.Fatalf("authorize without code_challenge: %d %q", a.Status, a.Location)
			}
		})
		t.Run("wrong verifier", func(t *testing.T) {
			code := codeFor(t, ts, site, f.WalletToken, verifier)
			if x := exchange(t, ts, site, code, site.URL+"/cb", strings.Repeat("w", 50)); x.Status != 400 || x.JSON["error"] != "invalid_grant" {
				t.Fatalf("wrong verifier: %d %s", x.Status, x.Body)
			}
			if x := exchange(t, ts, site, code, site.URL+"/cb", ""); x.Status != 400 {
				t.Fatalf("no verifier: %d %s", x.Status, x.Body)
			}
		})
		t.Run("code reused", func(t *testing.T) {
			code := codeFor(t, ts, site, f.WalletToken, verifier)
			x := exchange(t, ts, site, code, site.URL+"/cb", verifier)
			at, _ := x.JSON["access_token"].(string)
			if x.Status != 200 || at == "" {
				t.Fatalf("exchange: %d %s", x.Status, x.Body)
			}
			if u := userinfoStatus(t, ts, at); u.Status != 200 || u.JSON["eligible"] != true {
				t.Fatalf("userinfo: %d %s", u.Status, u.Body)
			}
			if x := exchange(t, ts, site, code, site.URL+"/cb", verifier); x.Status != 400 || x.JSON["error"] != "invalid_grant" {
				t.Fatalf("second exchange: %d %s", x.Status, x.Body)
			}
			if u := userinfoStatus(t, ts, at); u.Status < 400 {
				t.Fatalf("the token of a reused code still answers: %d %s", u.Status, u.Body)
			}
		})
		t.Run("stolen code", func(t *testing.T) {
			code := codeFor(t, ts, site, f.WalletToken, verifier)
			if x := exchange(t, ts, thief, code, site.URL+"/cb", verifier); x.Status != 400 || x.JSON["access_token"] != nil {
				t.Fatalf("another client's code: %d %s", x.Status, x.Body)
			}
			wrong := &partnerSite{URL: site.URL, ClientID: site.ClientID, Secret: "apcs_wrong"}
			code = codeFor(t, ts, site, f.WalletToken, verifier)
			if x := exchange(t, ts, wrong, code, site.URL+"/cb", verifier); x.Status < 400 || x.JSON["access_token"] != nil {
				t.Fatalf("wrong secret: %d %s", x.Status, x.Body)
			}
		})
		t.Run("expired code and token", func(t *testing.T) {
			code := codeFor(t, ts, site, f.WalletToken, verifier)
			ts.Clock.Set(time.Now().Add(6 * time.Minute))
			x := exchange(t, ts, site, code, site.URL+"/cb", verifier)
			ts.Clock.Set(time.Time{})
			if x.Status != 400 {
				t.Fatalf("expired code: %d %s", x.Status, x.Body)
			}
			code = codeFor(t, ts, site, f.WalletToken, verifier)
			x = exchange(t, ts, site, code, site.URL+"/cb", verifier)
			at, _ := x.JSON["access_token"].(string)
			if x.Status != 200 {
				t.Fatalf("exchange: %d %s", x.Status, x.Body)
			}
			ts.Clock.Set(time.Now().Add(11 * time.Minute))
			u := userinfoStatus(t, ts, at)
			intro := ts.introspect(site, at)
			ts.Clock.Set(time.Time{})
			if u.Status < 400 || intro["active"] != false {
				t.Fatalf("expired token: userinfo %d %s, introspection %v", u.Status, u.Body, intro)
			}
			if u := userinfoStatus(t, ts, at); u.Status != 200 {
				t.Fatalf("the same token before its expiry: %d %s", u.Status, u.Body)
			}
		})
		t.Run("introspection by another client", func(t *testing.T) {
			code := codeFor(t, ts, site, f.WalletToken, verifier)
			at, _ := exchange(t, ts, site, code, site.URL+"/cb", verifier).JSON["access_token"].(string)
			if in := ts.introspect(thief, at); in["active"] != false {
				t.Fatalf("another client introspected the token: %v", in)
			}
			if in := ts.introspect(site, at); in["active"] != true || in["sub"] != ts.App.svc.Partners.Pseudonym(f.MemberID, f.PartnerID) {
				t.Fatalf("own introspection: %v", in)
			}
		})
		t.Run("no wallet on this device", func(t *testing.T) {
			a := authorize(t, ts, site, site.URL+"/cb", verifier)
			req, _ := http.NewRequest("GET", ts.URL+a.Location, nil)
			first := oidcDo(t, req)
			if first.Status != 200 || !strings.Contains(first.Body, `http-equiv="refresh"`) || !strings.Contains(first.Body, `data-state="hop"`) {
				t.Fatalf("first visit without the cookie: %d %s", first.Status, first.Body)
			}
			req, _ = http.NewRequest("GET", ts.URL+a.Location+"&hop=1", nil)
			hop := oidcDo(t, req)
			// Without a wallet here the page offers the phone instead: a QR
			// and a user code, never the approval form.
			if hop.Status != 200 || !strings.Contains(hop.Body, `data-state="other_device"`) || !strings.Contains(hop.Body, `id="oidc-user-code"`) || strings.Contains(hop.Body, `id="oidc-form"`) {
				t.Fatalf("after the hop, still without the cookie: %d %s", hop.Status, hop.Body)
			}
			bogus := approveAs(t, ts, "apw_not_a_wallet", strings.TrimPrefix(a.Location, "/oidc/approve?id="), "approve")
			if bogus.Status != 401 || bogus.Location != "" {
				t.Fatalf("approval with an unknown wallet: %d %q", bogus.Status, bogus.Location)
			}
		})
		t.Run("declined", func(t *testing.T) {
			a := authorize(t, ts, site, site.URL+"/cb", verifier)
			id := strings.TrimPrefix(a.Location, "/oidc/approve?id=")
			d := approveAs(t, ts, f.WalletToken, id, "deny")
			u, _ := url.Parse(d.Location)
			if d.Status != http.StatusSeeOther || !strings.HasPrefix(d.Location, site.URL+"/cb?") || u.Query().Get("error") != "access_denied" || u.Query().Get("state") != "st" {
				t.Fatalf("deny: %d %q", d.Status, d.Location)
			}
			if again := approveAs(t, ts, f.WalletToken, id, "approve"); again.Status != http.StatusNotFound {
				t.Fatalf("approving a declined sign-in: %d %q", again.Status, again.Location)
			}
		})
		t.Run("revoked client", func(t *testing.T) {
			code := codeFor(t, ts, site, f.WalletToken, verifier)
			at, _ := exchange(t, ts, site, code, site.URL+"/cb", verifier).JSON["access_token"].(string)
			code = codeFor(t, ts, site, f.WalletToken, verifier)
			ts.must(ts.do("POST", "/api/v1/partners/"+f.PartnerID+"/oidc-clients/"+site.ClientID+"/revoke", ts.HRToken, nil), 200)
			if u := userinfoStatus(t, ts, at); u.Status < 400 {
				t.Fatalf("a revoked client's token: %d %s", u.Status, u.Body)
			}
			if x := exchange(t, ts, site, code, site.URL+"/cb", verifier); x.Status < 400 {
				t.Fatalf("a revoked client's code: %d %s", x.Status, x.Body)
			}
			if a := authorize(t, ts, site, site.URL+"/cb", verifier); a.Status < 400 || strings.HasPrefix(a.Location, "/oidc/approve") {
				t.Fatalf("a revoked client's sign-in: %d %q", a.Status, a.Location)
			}
		})
	})
}

// TestOIDCClientsAPI: HR registers a partner's website (secret shown once,
// hashed at rest, audited); a partner-manager token manages its own
// partner's clients only; bad input changes nothing.
func TestOIDCClientsAPI(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		f := ts.newFixture("gold")
		other := ts.newFixture("gold")
		base := "/api/v1/partners/" + f.PartnerID + "/oidc-clients"
		c := ts.must(ts.do("POST", base, ts.HRToken, map[string]any{"name": "Hotel booking", "redirect_uris": []string{"https://hotel.example/cb"},
			"logo_url": "https://hotel.example/logo.png"}), 201)
		if !strings.HasPrefix(c.Str("client_secret"), "apcs_") || c.Str("issuer") != ts.URL+"/oidc" {
			t.Fatalf("created: %s", c.Body)
		}
		l := ts.must(ts.do("GET", base, ts.HRToken, nil), 200)
		if strings.Contains(string(l.Body), c.Str("client_secret")) || !strings.Contains(string(l.Body), c.Str("client_id")) {
			t.Fatalf("list: %s", l.Body)
		}
		var stored string
		if err := ts.Store.DB().QueryRow(`SELECT secret_hash FROM oidc_clients WHERE id = '` + c.Str("client_id") + `'`).Scan(&stored); err != nil || stored == c.Str("client_secret") || len(stored) != 64 {
			t.Fatalf("stored secret %q (%v)", stored, err)
		}
		audit := ts.must(ts.do("GET", "/api/v1/audit", ts.HRToken, nil), 200)
		if !strings.Contains(string(audit.Body), "oidc_client.create") {
			t.Fatalf("no audit entry: %s", audit.Body)
		}

		for _, bad := range []map[string]any{
			{"name": "", "redirect_uris": []string{"https://a.example/cb"}},
			{"name": "x", "redirect_uris": []string{}},
			{"name": "x", "redirect_uris": []string{"http://a.example/cb"}},
			{"name": "x", "redirect_uris": []string{"https://a.example/cb#frag"}},
			{"name": "x", "redirect_uris": []string{"https://a.example/cb"}, "logo_url": "javascript:alert(1)"},
		} {
			if r := ts.do("POST", base, ts.HRToken, bad); r.Status != 400 || r.Code() == "" {
				t.Errorf("%v: %d %s", bad, r.Status, r.Body)
			}
		}
		if n := len(ts.must(ts.do("GET", base, ts.HRToken, nil), 200).JSON["clients"].([]any)); n != 1 {
			t.Fatalf("bad input left %d clients", n)
		}

		mgr := ts.must(ts.do("POST", "/api/v1/partners/"+f.PartnerID+"/tokens", ts.HRToken, map[string]any{"name": "shop"}), 201).Str("key")
		ts.must(ts.do("POST", base, mgr, map[string]any{"name": "Shop", "redirect_uris": []string{"https://shop.example/cb"}}), 201)
		otherBase := "/api/v1/partners/" + other.PartnerID + "/oidc-clients"
		if r := ts.do("POST", otherBase, mgr, map[string]any{"name": "Shop", "redirect_uris": []string{"https://shop.example/cb"}}); r.Status != 404 {
			t.Fatalf("a manager registered at another partner: %d %s", r.Status, r.Body)
		}
		if r := ts.do("GET", otherBase, mgr, nil); r.Status != 404 {
			t.Fatalf("a manager listed another partner's clients: %d %s", r.Status, r.Body)
		}
		oc := ts.must(ts.do("POST", otherBase, ts.HRToken, map[string]any{"name": "Other", "redirect_uris": []string{"https://o.example/cb"}}), 201)
		if r := ts.do("POST", otherBase+"/"+oc.Str("client_id")+"/revoke", mgr, nil); r.Status != 404 {
			t.Fatalf("a manager revoked another partner's client: %d %s", r.Status, r.Body)
		}
		if r := ts.do("POST", base+"/"+oc.Str("client_id")+"/revoke", mgr, nil); r.Status != 404 {
			t.Fatalf("a manager revoked another partner's client through its own partner: %d %s", r.Status, r.Body)
		}
		ts.must(ts.do("POST", base+"/"+c.Str("client_id")+"/revoke", mgr, nil), 200)
		if r := ts.do("POST", base+"/"+c.Str("client_id")+"/revoke", mgr, nil); r.Status != 409 {
			t.Fatalf("second revoke: %d %s", r.Status, r.Body)
		}
	})
}

// TestOIDCOnlineRedemption: a partner's website records a perk used in a
// booking with the member's access token; it is counted in the perk's
// limits and in the partner's report like a counter redemption; a retry
// with the same Idempotency-Key answers the first; another partner's perk,
// a party too large and a revoked member are refused.
func TestOIDCOnlineRedemption(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		f := ts.newFixture("gold") // perk: companions 3, 5 a day
		other := ts.newFixture("gold")
		site := newPartnerSite(t, ts, f.PartnerID)
		verifier := strings.Repeat("v", 50)
		token := func() string {
			code := codeFor(t, ts, site, f.WalletToken, verifier)
			at, _ := exchange(t, ts, site, code, site.URL+"/cb", verifier).JSON["access_token"].(string)
			if at == "" {
				t.Fatal("no access token")
			}
			return at
		}
		at := token()
		body := map[string]any{"perk_id": f.PerkID, "party_size": 2, "booking_reference": "HTL-2026-0042"}
		r := ts.must(ts.do("POST", "/api/v1/online-redemptions", at, body, "Idempotency-Key", "booking-0042"), 201)
		if r.Str("booking_reference") != "HTL-2026-0042" || r.JSON["party_size"] != float64(2) {
			t.Fatalf("online redemption: %s", r.Body)
		}
		again := ts.must(ts.do("POST", "/api/v1/online-redemptions", at, body, "Idempotency-Key", "booking-0042"), 200)
		if again.Str("id") != r.Str("id") || again.JSON["idempotent_replay"] != true {
			t.Fatalf("replay: %s", again.Body)
		}
		report := ts.must(ts.do("GET", "/api/v1/partners/"+f.PartnerID+"/redemptions", ts.HRToken, nil), 200)
		lines, _ := report.JSON["redemptions"].([]any)
		if len(lines) != 1 || lines[0].(map[string]any)["venue"] != "Booking site" || lines[0].(map[string]any)["member"] != ts.App.svc.Partners.Pseudonym(f.MemberID, f.PartnerID) {
			t.Fatalf("partner report: %s", report.Body)
		}
		hist := ts.must(ts.do("GET", "/api/v1/members/"+f.MemberID+"/redemptions", ts.HRToken, nil), 200)
		if n := len(hist.JSON["redemptions"].([]any)); n != 1 {
			t.Fatalf("member's redemptions: %s", hist.Body)
		}

		for _, c := range []struct {
			name   string
			body   map[string]any
			key    string
			status int
			code   string
		}{
			{"another partner's perk", map[string]any{"perk_id": other.PerkID, "party_size": 1, "booking_reference": "X1"}, "booking-x1", 404, "perk_not_found"},
			{"party too large", map[string]any{"perk_id": f.PerkID, "party_size": 5, "booking_reference": "X2"}, "booking-x2", 400, "party_too_large"},
			{"no booking reference", map[string]any{"perk_id": f.PerkID, "party_size": 1}, "booking-x3", 400, "invalid_booking_reference"},
			{"no idempotency key", map[string]any{"perk_id": f.PerkID, "party_size": 1, "booking_reference": "X4"}, "", 400, "idempotency_key_required"},
			{"key reused for another booking", map[string]any{"perk_id": f.PerkID, "party_size": 1, "booking_reference": "X5"}, "booking-0042", 409, "idempotency_key_reused"},
		} {
			if r := ts.do("POST", "/api/v1/online-redemptions", at, c.body, "Idempotency-Key", c.key); r.Status != c.status || r.Code() != c.code {
				t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
			}
		}
		if r := ts.do("POST", "/api/v1/online-redemptions", ts.HRToken, body, "Idempotency-Key", "booking-hr"); r.Status != 401 || r.Code() != "invalid_token" {
			t.Errorf("an HR token as the member's: %d %s", r.Status, r.Body)
		}

		// The daily limit (5) counts online uses: four more, then refused.
		for i := range 4 {
			ts.must(ts.do("POST", "/api/v1/online-redemptions", at, body, "Idempotency-Key", "booking-l"+string(rune('a'+i))), 201)
		}
		if r := ts.do("POST", "/api/v1/online-redemptions", at, body, "Idempotency-Key", "booking-over"); r.Status < 400 || r.Code() != "daily_limit_reached" {
			t.Fatalf("past the daily limit: %d %s", r.Status, r.Body)
		}

		ts.must(ts.do("POST", "/api/v1/members/"+f.MemberID+"/revoke", ts.HRToken, map[string]string{"reason": "left"}), 200)
		if r := ts.do("POST", "/api/v1/online-redemptions", at, body, "Idempotency-Key", "booking-after"); r.Status != 401 || r.Code() != "invalid_token" {
			t.Fatalf("a revoked member's token: %d %s", r.Status, r.Body)
		}
	})
}

// TestOIDCConsoleClients: a partner manager registers a website on the
// partner console page, sees its secret once (and a working one: it signs
// a member in), sees only its own partner's websites, and revokes it; bad
// input is refused with nothing registered; HR does the same on the
// partner's admin page.
func TestOIDCConsoleClients(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		a := ts.newFixture("gold")
		b := ts.newFixture("gold")
		ts.must(ts.do("POST", "/api/v1/partners/"+a.PartnerID+"/oidc-clients", ts.HRToken, map[string]any{
			"name": "Partner A's site", "redirect_uris": []string{"https://a.example/cb"}}), 201)

		pm := ts.consoleAs(model.RolePartnerManager, b.PartnerID)
		home := pm.want(pm.get("/partner"), 200)
		if strings.Contains(home.Body, "Partner A's site") || !strings.Contains(home.Body, `id="oidc-client-form"`) {
			t.Fatal("the partner page shows another partner's website, or no registration form")
		}
		bad := pm.post("/partner/oidc-clients", url.Values{"name": {"Shop"}, "redirect_uris": {"http://shop.example/cb"}})
		if bad.Status != 400 || strings.Contains(bad.Body, `id="new-client-secret"`) {
			t.Fatalf("a plain-http redirect: %d", bad.Status)
		}
		page := pm.want(pm.post("/partner/oidc-clients", url.Values{"name": {"Shop"}, "redirect_uris": {"http://localhost:1/cb\nhttps://shop.example/cb"}}), 200)
		secret := regexpFind(t, page.Body, `id="new-client-secret">(apcs_[A-Za-z0-9_-]+)<`)
		clientID := regexpFind(t, page.Body, `id="new-client-id">([0-9a-f-]{36})<`)
		again := pm.want(pm.get("/partner"), 200)
		if strings.Contains(again.Body, secret) || !strings.Contains(again.Body, clientID) || !strings.Contains(again.Body, "https://shop.example/cb") {
			t.Fatal("the secret is shown again, or the website is not listed")
		}
		// The secret works: a sign-in through this client completes.
		site := &partnerSite{URL: "http://localhost:1", ClientID: clientID, Secret: secret}
		verifier := strings.Repeat("v", 50)
		if x := exchange(t, ts, site, codeFor(t, ts, site, b.WalletToken, verifier), site.URL+"/cb", verifier); x.Status != 200 {
			t.Fatalf("the console's client does not work: %d %s", x.Status, x.Body)
		}
		others := ts.must(ts.do("GET", "/api/v1/partners/"+a.PartnerID+"/oidc-clients", ts.HRToken, nil), 200)
		aClient := others.JSON["clients"].([]any)[0].(map[string]any)["client_id"].(string)
		pm.want(pm.post("/partner/oidc-clients/"+aClient+"/revoke", nil), 404)
		pm.want(pm.post("/partner/oidc-clients/"+clientID+"/revoke", nil), 303, "/partner?msg=oidc_client_revoked")
		if x := exchange(t, ts, site, "whatever", site.URL+"/cb", verifier); x.Status < 400 {
			t.Fatalf("a revoked client still authenticates: %d", x.Status)
		}
		list := ts.must(ts.do("GET", "/api/v1/partners/"+b.PartnerID+"/oidc-clients", ts.HRToken, nil), 200)
		if n := len(list.JSON["clients"].([]any)); n != 1 {
			t.Fatalf("%d clients after a refused and an accepted registration", n)
		}
		if list := ts.must(ts.do("GET", "/api/v1/partners/"+a.PartnerID+"/oidc-clients", ts.HRToken, nil), 200); list.JSON["clients"].([]any)[0].(map[string]any)["revoked_at"] != nil {
			t.Fatal("the other partner's website was revoked")
		}

		hr := ts.consoleAs(model.RoleHR, "")
		hp := hr.want(hr.post("/admin/partners/"+a.PartnerID+"/oidc-clients", url.Values{"name": {"Hotel"}, "redirect_uris": {"https://hotel.example/cb"}}), 200)
		if !strings.Contains(hp.Body, `id="new-client-secret"`) {
			t.Fatal("HR's registration shows no secret")
		}
	})
}

// TestOIDCKeyRotation: `keys rotate-oidc` adds a new token signing key:
// the JWKS then holds both, a new ID token is signed with the new key and
// still verifies with go-oidc, and the rotation is audited; `keys
// retire-oidc` then takes the old key out of the JWKS (never the active
// one), audited too.
func TestOIDCKeyRotation(t *testing.T) {
	env := map[string]string{
		"DATABASE_URL":          storetest.NewPostgresDB(t),
		"ALUMNIPASS_DATA_DIR":   filepath.Join(t.TempDir(), "data"),
		"ALUMNIPASS_MASTER_KEY": strings.Repeat("cd", 32),
	}
	db := openTestStore(t, env["DATABASE_URL"], 8)
	ts := startServerOn(t, db, env["ALUMNIPASS_MASTER_KEY"])
	f := ts.newFixture("gold")
	site := newPartnerSite(t, ts, f.PartnerID)
	jwks := func() []string {
		req, _ := http.NewRequest("GET", ts.URL+"/oidc/keys", nil)
		var kids []string
		for _, k := range oidcDo(t, req).JSON["keys"].([]any) {
			kids = append(kids, k.(map[string]any)["kid"].(string))
		}
		return kids
	}
	before := jwks()
	out, err := runCLI(t, env, "keys", "rotate-oidc")
	if err != nil || !strings.Contains(out, "is active") {
		t.Fatalf("rotate-oidc: %q %v", out, err)
	}
	after := jwks()
	if len(before) != 1 || len(after) != 2 {
		t.Fatalf("JWKS before %v, after %v", before, after)
	}
	verifier := strings.Repeat("v", 50)
	x := exchange(t, ts, site, codeFor(t, ts, site, f.WalletToken, verifier), site.URL+"/cb", verifier)
	raw, _ := x.JSON["id_token"].(string)
	idt, err := site.provider.Verifier(&gooidc.Config{ClientID: site.ClientID}).Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("ID token after rotation: %v", err)
	}
	header, _ := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
	if strings.Contains(string(header), before[0]) || idt.Subject == "" {
		t.Fatalf("the ID token is still signed with the old key: %s", header)
	}
	audit := ts.must(ts.do("GET", "/api/v1/audit", ts.HRToken, nil), 200)
	if !strings.Contains(string(audit.Body), "oidc_key.rotate") {
		t.Fatal("the rotation is not audited")
	}

	// The old key can then be retired out of the JWKS; the active one cannot.
	active := after[0]
	if active == before[0] {
		active = after[1]
	}
	if out, err := runCLI(t, env, "keys", "retire-oidc", active); err == nil {
		t.Fatalf("retire-oidc of the active key succeeded: %q", out)
	}
	if out, err := runCLI(t, env, "keys", "retire-oidc", before[0]); err != nil || !strings.Contains(out, "retired") {
		t.Fatalf("retire-oidc: %q %v", out, err)
	}
	if kids := jwks(); len(kids) != 1 || kids[0] != active {
		t.Fatalf("JWKS after retiring %s: %v", before[0], kids)
	}
	if out, err := runCLI(t, env, "keys", "retire-oidc", before[0]); err == nil {
		t.Fatalf("retiring a retired key again succeeded: %q", out)
	}
	if out, _ := runCLI(t, env, "keys", "list"); !strings.Contains(out, before[0]+"  retired") || !strings.Contains(out, active+"  active") {
		t.Fatalf("keys list does not show the OpenID keys' states:\n%s", out)
	}
	x = exchange(t, ts, site, codeFor(t, ts, site, f.WalletToken, verifier), site.URL+"/cb", verifier)
	raw, _ = x.JSON["id_token"].(string)
	if _, err := site.provider.Verifier(&gooidc.Config{ClientID: site.ClientID}).Verify(context.Background(), raw); err != nil {
		t.Fatalf("ID token after retiring the old key: %v", err)
	}
	audit = ts.must(ts.do("GET", "/api/v1/audit?action=oidc_key.retire", ts.HRToken, nil), 200)
	if n := len(audit.JSON["entries"].([]any)); n != 1 {
		t.Fatalf("oidc_key.retire audited %d times: %s", n, audit.Body)
	}
}

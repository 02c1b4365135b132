package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// aBrowser is an HTTP client with its own cookies that does not follow
// redirects: one device in a sign-in on another device.
type aBrowser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *aBrowser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &aBrowser{t: t, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// get fetches a URL (absolute, or a path on the server at base).
func (b *aBrowser) get(u string) oidcAnswer {
	b.t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *aBrowser) do(req *http.Request) oidcAnswer {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	a := oidcAnswer{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Body: string(body)}
	_ = json.Unmarshal(body, &a.JSON)
	return a
}

// post sends a form with the double-submit CSRF pair.
func (b *aBrowser) post(u string, form url.Values) oidcAnswer {
	b.t.Helper()
	csrf := strings.Repeat("d", 40)
	form.Set("_csrf", csrf)
	req, err := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "ap_csrf", Value: csrf})
	return b.do(req)
}

// walletPhone is a browser holding a wallet.
func walletPhone(t *testing.T, ts *testServer, walletToken string) *aBrowser {
	b := newBrowser(t)
	u, _ := url.Parse(ts.URL + "/")
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "ap_wallet", Value: walletToken, Path: "/"}})
	return b
}

var userCodeRe = regexp.MustCompile(`id="oidc-user-code">([A-Z]{4}-[A-Z]{4})<`)

// startOnLaptop starts a sign-in at the partner and opens it in a browser
// without the wallet: it returns the sign-in's id and the code shown.
func startOnLaptop(t *testing.T, ts *testServer, site *partnerSite, laptop *aBrowser, verifier string) (string, string) {
	t.Helper()
	a := authorize(t, ts, site, site.URL+"/cb", verifier)
	if a.Status != http.StatusFound || !strings.HasPrefix(a.Location, "/oidc/approve?id=") {
		t.Fatalf("authorize: %d %q %s", a.Status, a.Location, a.Body)
	}
	id := strings.TrimPrefix(a.Location, "/oidc/approve?id=")
	page := laptop.get(ts.URL + "/oidc/approve?hop=1&id=" + id)
	m := userCodeRe.FindStringSubmatch(page.Body)
	if page.Status != 200 || m == nil || !strings.Contains(page.Body, `data-state="other_device"`) {
		t.Fatalf("the laptop's page: %d %.600s", page.Status, page.Body)
	}
	return id, m[1]
}

// TestOIDCSignInOnAnotherDevice: a sign-in started on a laptop (no wallet)
// shows a user code and a QR; the phone that holds the wallet confirms the
// code; the laptop, and only the laptop, goes on to the partner with a
// code that go-oidc's partner exchanges for the member's pairwise sub.
// Declining on the phone ends the laptop's wait; codes that match nothing
// are limited; a revoked member's phone cannot approve.
func TestOIDCSignInOnAnotherDevice(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		f := ts.newFixture("gold")
		site := newPartnerSite(t, ts, f.PartnerID)
		laptop, mobile, stranger := newBrowser(t), walletPhone(t, ts, f.WalletToken), newBrowser(t)
		verifier := oauth2.GenerateVerifier()
		id, code := startOnLaptop(t, ts, site, laptop, verifier)

		// A reload shows the same code; another browser cannot take the sign-in over.
		if again := laptop.get(ts.URL + "/oidc/approve?hop=1&id=" + id); !strings.Contains(again.Body, code) {
			t.Fatalf("the reloaded page lost its code %s: %.400s", code, again.Body)
		}
		if other := stranger.get(ts.URL + "/oidc/approve?hop=1&id=" + id); other.Status != http.StatusConflict || strings.Contains(other.Body, code) {
			t.Fatalf("another browser opening the sign-in: %d %.400s", other.Status, other.Body)
		}
		if w := laptop.get(ts.URL + "/oidc/approve/wait?id=" + id); w.JSON["state"] != "pending" {
			t.Fatalf("laptop waiting: %d %s", w.Status, w.Body)
		}
		if c := laptop.get(ts.URL + "/oidc/approve/continue?id=" + id); c.Status != http.StatusSeeOther || !strings.HasPrefix(c.Location, "/oidc/approve?") {
			t.Fatalf("continue before the approval: %d %q", c.Status, c.Location)
		}

		// The phone: a wrong code finds nothing; the right one, typed in
		// lower case with a space, shows the consent with the code.
		if w := mobile.get(ts.URL + "/oidc/device?code=BBBB-BBBB"); w.Status != http.StatusNotFound || !strings.Contains(w.Body, `id="oidc-code-error"`) {
			t.Fatalf("a wrong code: %d %.400s", w.Status, w.Body)
		}
		typed := strings.ToLower(strings.Replace(code, "-", " ", 1))
		consent := mobile.get(ts.URL + "/oidc/device?code=" + url.QueryEscape(typed))
		if consent.Status != 200 || !strings.Contains(consent.Body, `id="oidc-device-code">`+code+`<`) || !strings.Contains(consent.Body, `action="/oidc/device"`) {
			t.Fatalf("the phone's consent: %d %.800s", consent.Status, consent.Body)
		}
		if ok := mobile.post(ts.URL+"/oidc/device", url.Values{"code": {code}, "action": {"approve"}}); ok.Status != 200 || !strings.Contains(ok.Body, `id="oidc-approved-elsewhere"`) {
			t.Fatalf("approve on the phone: %d %.400s", ok.Status, ok.Body)
		}
		if twice := mobile.post(ts.URL+"/oidc/device", url.Values{"code": {code}, "action": {"approve"}}); twice.Status != http.StatusNotFound {
			t.Fatalf("the same code approved twice: %d %.400s", twice.Status, twice.Body)
		}

		// Only the laptop goes on.
		if w := stranger.get(ts.URL + "/oidc/approve/wait?id=" + id); w.JSON["state"] != "gone" {
			t.Fatalf("another browser sees the sign-in: %s", w.Body)
		}
		if c := stranger.get(ts.URL + "/oidc/approve/continue?id=" + id); c.Status != http.StatusNotFound {
			t.Fatalf("another browser continues: %d %q", c.Status, c.Location)
		}
		w := laptop.get(ts.URL + "/oidc/approve/wait?id=" + id)
		if w.JSON["state"] != "approved" || w.JSON["continue"] != "/oidc/approve/continue?id="+id {
			t.Fatalf("laptop after the approval: %s", w.Body)
		}
		cont := laptop.get(ts.URL + "/oidc/approve/continue?id=" + id)
		if cont.Status != http.StatusSeeOther || !strings.HasPrefix(cont.Location, ts.URL+"/oidc/authorize/callback?id=") {
			t.Fatalf("continue: %d %q %.300s", cont.Status, cont.Location, cont.Body)
		}
		cb := laptop.get(cont.Location)
		u, err := url.Parse(cb.Location)
		if err != nil || !strings.HasPrefix(cb.Location, site.URL+"/cb?") || u.Query().Get("code") == "" {
			t.Fatalf("callback: %d %q", cb.Status, cb.Location)
		}
		tok := exchange(t, ts, site, u.Query().Get("code"), site.URL+"/cb", verifier)
		if tok.Status != 200 || tok.JSON["id_token"] == nil {
			t.Fatalf("exchange: %d %s", tok.Status, tok.Body)
		}
		info := userinfoStatus(t, ts, tok.JSON["access_token"].(string))
		if info.Status != 200 || info.JSON["sub"] != ts.App.svc.Partners.Pseudonym(f.MemberID, f.PartnerID) || info.JSON["eligible"] != true {
			t.Fatalf("userinfo: %d %s", info.Status, info.Body)
		}

		// Declined on the phone: the laptop's wait ends.
		id2, code2 := startOnLaptop(t, ts, site, laptop, oauth2.GenerateVerifier())
		if code2 == code {
			t.Fatalf("two sign-ins share the code %s", code)
		}
		if no := mobile.post(ts.URL+"/oidc/device", url.Values{"code": {code2}, "action": {"deny"}}); no.Status != 200 || !strings.Contains(no.Body, `id="oidc-denied-elsewhere"`) {
			t.Fatalf("deny on the phone: %d %.400s", no.Status, no.Body)
		}
		if w := laptop.get(ts.URL + "/oidc/approve/wait?id=" + id2); w.JSON["state"] != "gone" {
			t.Fatalf("laptop after the denial: %s", w.Body)
		}
		if c := laptop.get(ts.URL + "/oidc/approve/continue?id=" + id2); c.Status != http.StatusNotFound {
			t.Fatalf("continue after the denial: %d %q", c.Status, c.Location)
		}

		// A phone without the wallet hops once, then is told where to go.
		if h := stranger.get(ts.URL + "/oidc/device?code=" + code2); h.Status != 200 || !strings.Contains(h.Body, `data-state="hop"`) {
			t.Fatalf("no wallet, first visit: %d %.300s", h.Status, h.Body)
		}
		if h := stranger.get(ts.URL + "/oidc/device?hop=1&code=" + code2); h.Status != http.StatusUnauthorized || !strings.Contains(h.Body, `id="oidc-no-wallet"`) ||
			!strings.Contains(h.Body, `id="oidc-no-wallet-user-code">`+code2+`<`) {
			t.Fatalf("no wallet: %d %.300s", h.Status, h.Body)
		}

		// Codes that match nothing are limited: two failures above (the
		// wrong code, the code approved twice), eight more here make
		// UserCodeMax; then even a right code waits.
		_, code3 := startOnLaptop(t, ts, site, laptop, oauth2.GenerateVerifier())
		for i := 2; i < userCodeMax; i++ {
			if w := mobile.get(ts.URL + "/oidc/device?code=CCCC-CCC" + string(rune('B'+i%10))); w.Status != http.StatusNotFound {
				t.Fatalf("wrong code %d: %d", i, w.Status)
			}
		}
		lim := mobile.get(ts.URL + "/oidc/device?code=" + code3)
		if lim.Status != http.StatusTooManyRequests || !strings.Contains(lim.Body, `id="oidc-code-error"`) {
			t.Fatalf("over the limit: %d %.300s", lim.Status, lim.Body)
		}

		// A revoked member's phone cannot approve.
		g := ts.newFixture("gold")
		ts.must(ts.do("POST", "/api/v1/members/"+g.MemberID+"/revoke", ts.HRToken, map[string]string{"reason": "left"}), 200)
		if r := walletPhone(t, ts, g.WalletToken).get(ts.URL + "/oidc/device?code=" + code3); r.Status != http.StatusForbidden {
			t.Fatalf("a revoked member's phone: %d %.300s", r.Status, r.Body)
		}
	})
}

// userCodeMax is httpkit.UserCodeMax.
const userCodeMax = 10

package main

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/alumnipass/alumnipass/internal/model"
)

// consoleClient is a browser as far as the console can tell: a cookie jar,
// forms posted as a browser posts them, redirects not followed so that
// tests see where the console sends it.
type consoleClient struct {
	t    testing.TB
	ts   *testServer
	http *http.Client
	csrf string // the CSRF token of the last page that had one
}

// consolePage is one answer of the console.
type consolePage struct {
	Status   int
	Header   http.Header
	Body     string
	Location string
}

var (
	csrfMetaRe   = regexp.MustCompile(`<meta name="csrf-token" content="([^"]*)">`)
	totpSecretRe = regexp.MustCompile(`<code id="totp-secret">([A-Z2-7]+)</code>`)
)

func (ts *testServer) newConsoleClient() *consoleClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		ts.t.Fatal(err)
	}
	return &consoleClient{t: ts.t, ts: ts, http: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (cc *consoleClient) do(req *http.Request) *consolePage {
	cc.t.Helper()
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := cc.http.Do(req)
	if err != nil {
		cc.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	p := &consolePage{Status: resp.StatusCode, Header: resp.Header, Body: string(b), Location: resp.Header.Get("Location")}
	if m := csrfMetaRe.FindStringSubmatch(p.Body); m != nil && m[1] != "" {
		cc.csrf = html.UnescapeString(m[1])
	}
	return p
}

// get fetches a page.
func (cc *consoleClient) get(path string) *consolePage {
	cc.t.Helper()
	req, err := http.NewRequest("GET", cc.ts.URL+path, nil)
	if err != nil {
		cc.t.Fatal(err)
	}
	return cc.do(req)
}

// post sends a form; it adds the last page's CSRF token unless the form
// has a _csrf of its own (an empty one sends none).
func (cc *consoleClient) post(path string, form url.Values) *consolePage {
	cc.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["_csrf"]; !ok {
		form.Set("_csrf", cc.csrf)
	} else if form.Get("_csrf") == "" {
		form.Del("_csrf")
	}
	req, err := http.NewRequest("POST", cc.ts.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		cc.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return cc.do(req)
}

// upload sends a multipart form with one file, as the import form does.
func (cc *consoleClient) upload(path, field, filename string, data []byte, form url.Values) *consolePage {
	cc.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["_csrf"]; !ok {
		form.Set("_csrf", cc.csrf)
	}
	for k, vs := range form {
		for _, v := range vs {
			_ = w.WriteField(k, v)
		}
	}
	fw, err := w.CreateFormFile(field, filename)
	if err != nil {
		cc.t.Fatal(err)
	}
	_, _ = fw.Write(data)
	_ = w.Close()
	req, err := http.NewRequest("POST", cc.ts.URL+path, &body)
	if err != nil {
		cc.t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	return cc.do(req)
}

// want checks a page's status (and, for a redirect, where it goes).
func (cc *consoleClient) want(p *consolePage, status int, location ...string) *consolePage {
	cc.t.Helper()
	if p.Status != status {
		cc.t.Fatalf("status %d, want %d (Location %q): %.600s", p.Status, status, p.Location, p.Body)
	}
	if len(location) > 0 && p.Location != location[0] {
		cc.t.Fatalf("redirected to %q, want %q", p.Location, location[0])
	}
	return p
}

// consoleUserSeq numbers the console users tests create.
var consoleUserSeq struct {
	mu sync.Mutex
	n  int
}

// newConsoleUser creates a console user and returns its e-mail and password.
func (ts *testServer) newConsoleUser(role, partnerID string) (email, password string) {
	ts.t.Helper()
	consoleUserSeq.mu.Lock()
	consoleUserSeq.n++
	n := consoleUserSeq.n
	consoleUserSeq.mu.Unlock()
	email, password = fmt.Sprintf("%s%d@example.com", strings.ReplaceAll(role, "_", "-"), n), "correct horse battery"
	if _, err := ts.App.svc.Console.CreateAdmin(context.Background(), email, "試験 "+role, password, role, partnerID, "ja"); err != nil {
		ts.t.Fatal(err)
	}
	return email, password
}

// totpSecret reads the secret the setup page shows.
func (cc *consoleClient) totpSecret(p *consolePage) string {
	cc.t.Helper()
	m := totpSecretRe.FindStringSubmatch(p.Body)
	if m == nil {
		cc.t.Fatalf("no TOTP secret on the page: %.400s", p.Body)
	}
	return m[1]
}

// totpCode is the current code for a secret on the server's clock.
func (cc *consoleClient) totpCode(secret string) string {
	cc.t.Helper()
	code, err := totp.GenerateCode(secret, cc.ts.Clock.Now())
	if err != nil {
		cc.t.Fatal(err)
	}
	return code
}

// signIn signs in with the password and sets up (first time) or enters
// the second factor; it returns the TOTP secret.
func (cc *consoleClient) signIn(email, password, secret string) string {
	cc.t.Helper()
	cc.want(cc.get("/admin/login"), 200)
	p := cc.want(cc.post("/admin/login", url.Values{"email": {email}, "password": {password}}), 303)
	if secret == "" {
		if p.Location != "/admin/2fa/setup" {
			cc.t.Fatalf("first sign-in went to %q, want the 2FA setup", p.Location)
		}
		secret = cc.totpSecret(cc.want(cc.get("/admin/2fa/setup"), 200))
		p = cc.want(cc.post("/admin/2fa/setup", url.Values{"code": {cc.totpCode(secret)}}), 303)
	} else {
		if p.Location != "/admin/2fa" {
			cc.t.Fatalf("sign-in went to %q, want the 2FA page", p.Location)
		}
		cc.want(cc.get("/admin/2fa"), 200)
		// A code is good once and this step's may be spent already (by the
		// setup); the next step's is within the drift the console allows.
		next, err := totp.GenerateCode(secret, cc.ts.Clock.Now().Add(30*time.Second))
		if err != nil {
			cc.t.Fatal(err)
		}
		p = cc.want(cc.post("/admin/2fa", url.Values{"code": {next}}), 303)
	}
	if p.Location != "/admin" && p.Location != "/partner" {
		cc.t.Fatalf("after the second factor: %q", p.Location)
	}
	cc.want(cc.get(p.Location), 200)
	return secret
}

// consoleAs is a client signed in as a new user of the role.
func (ts *testServer) consoleAs(role, partnerID string) *consoleClient {
	ts.t.Helper()
	email, pw := ts.newConsoleUser(role, partnerID)
	cc := ts.newConsoleClient()
	cc.signIn(email, pw, "")
	return cc
}

// memberStatus reads a member's status through the API.
func (ts *testServer) memberStatus(id string) model.MemberStatus {
	ts.t.Helper()
	r := ts.must(ts.do("GET", "/api/v1/members/"+id, ts.HRToken, nil), 200)
	return model.MemberStatus(r.Str("status"))
}

// regexpFind returns the first group of pattern in s.
func regexpFind(t testing.TB, s, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("%s not found in: %.1500s", pattern, s)
	}
	return m[1]
}

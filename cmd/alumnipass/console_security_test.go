package main

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// TestConsoleCSRFNotFromQuery: a CSRF token in the query string is not a
// submitted token (URLs end up in logs, history and Referer headers); the
// form field and the X-CSRF-Token header are.
func TestConsoleCSRFNotFromQuery(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	email, pw := ts.newConsoleUser(model.RoleHR, "")

	// The sign-in form (double-submit cookie).
	anon := ts.newConsoleClient()
	anon.want(anon.get("/admin/login"), 200)
	anon.want(anon.post("/admin/login?_csrf="+url.QueryEscape(anon.csrf), url.Values{"email": {email}, "password": {pw}, "_csrf": {""}}), 403)

	// A signed-in console (the session's token).
	cc := ts.newConsoleClient()
	cc.signIn(email, pw, "")
	tok := cc.csrf
	cc.want(cc.post("/admin/logout?_csrf="+url.QueryEscape(tok), url.Values{"_csrf": {""}}), 403)
	cc.want(cc.get("/admin"), 200) // still signed in
	req, err := http.NewRequest("POST", ts.URL+"/admin/logout", strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", tok)
	cc.want(cc.do(req), 303, "/admin/login?msg=signed_out")
	cc.want(cc.get("/admin"), 303, "/admin/login")
}

// sessionCookieOf is the console session cookie a client holds.
func (cc *consoleClient) sessionCookieOf() string {
	u, _ := url.Parse(cc.ts.URL)
	for _, c := range cc.http.Jar.Cookies(u) {
		if c.Name == "ap_session" {
			return c.Value
		}
	}
	return ""
}

// TestConsoleTOTPSecretPerSessionAndUsedOnce: two sessions holding the
// password are shown different secrets to set up; once the user confirms
// theirs, the other secret signs nothing in; and a code signs in once.
func TestConsoleTOTPSecretPerSessionAndUsedOnce(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	email, pw := ts.newConsoleUser(model.RoleHR, "")
	user, intruder := ts.newConsoleClient(), ts.newConsoleClient()
	for _, cc := range []*consoleClient{user, intruder} {
		cc.want(cc.get("/admin/login"), 200)
		cc.want(cc.post("/admin/login", url.Values{"email": {email}, "password": {pw}}), 303, "/admin/2fa/setup")
	}
	secret := user.totpSecret(user.want(user.get("/admin/2fa/setup"), 200))
	stolen := intruder.totpSecret(intruder.want(intruder.get("/admin/2fa/setup"), 200))
	if stolen == secret {
		t.Fatal("two sessions were shown the same TOTP secret to set up")
	}
	code := user.totpCode(secret)
	user.want(user.post("/admin/2fa/setup", url.Values{"code": {code}}), 303, "/admin")
	user.want(user.get("/admin"), 200)
	// The intruder's secret is worthless now.
	intruder.want(intruder.post("/admin/2fa/setup", url.Values{"code": {intruder.totpCode(stolen)}}), 303, "/admin/2fa")
	intruder.want(intruder.get("/admin/2fa"), 200)
	intruder.want(intruder.post("/admin/2fa", url.Values{"code": {intruder.totpCode(stolen)}}), 401)
	// The user's code of this step, seen over a shoulder, is spent.
	intruder.want(intruder.post("/admin/2fa", url.Values{"code": {code}}), 401)
	intruder.want(intruder.get("/admin"), 303, "/admin/2fa")
	// The next step's code works once.
	ts.Clock.Set(time.Now().Add(30 * time.Second))
	next := user.totpCode(secret)
	intruder.want(intruder.post("/admin/2fa", url.Values{"code": {next}}), 303, "/admin")
	again := ts.newConsoleClient()
	again.want(again.get("/admin/login"), 200)
	again.want(again.post("/admin/login", url.Values{"email": {email}, "password": {pw}}), 303, "/admin/2fa")
	again.want(again.get("/admin/2fa"), 200)
	again.want(again.post("/admin/2fa", url.Values{"code": {next}}), 401)
}

// TestConsoleSessionRenewedAfterSecondFactor: completing the second factor
// gives the browser a new session id; the cookie it had before (which an
// attacker may have planted or seen) is dead.
func TestConsoleSessionRenewedAfterSecondFactor(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	email, pw := ts.newConsoleUser(model.RoleHR, "")
	cc := ts.newConsoleClient()
	cc.want(cc.get("/admin/login"), 200)
	cc.want(cc.post("/admin/login", url.Values{"email": {email}, "password": {pw}}), 303, "/admin/2fa/setup")
	before := cc.sessionCookieOf()
	secret := cc.totpSecret(cc.want(cc.get("/admin/2fa/setup"), 200))
	p := cc.want(cc.post("/admin/2fa/setup", url.Values{"code": {cc.totpCode(secret)}}), 303, "/admin")
	after := cc.sessionCookieOf()
	if before == "" || after == "" || before == after || !strings.Contains(strings.Join(p.Header.Values("Set-Cookie"), ";"), "ap_session="+after) {
		t.Fatalf("the session id was not renewed: %q → %q", before, after)
	}
	cc.want(cc.get("/admin"), 200)
	old := ts.newConsoleClient()
	u, _ := url.Parse(ts.URL)
	old.http.Jar.SetCookies(u, []*http.Cookie{{Name: "ap_session", Value: before, Path: "/"}})
	old.want(old.get("/admin"), 303, "/admin/login")
	old.want(old.get("/admin/2fa/setup"), 303, "/admin/login")
}

// fromAddress makes a client connect from another loopback address, so
// that the server sees a different client.
func (cc *consoleClient) fromAddress(ip string) *consoleClient {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	cc.http.Transport = &http.Transport{DialContext: d.DialContext}
	return cc
}

// TestConsoleSignInThrottlePerAddress: an attacker at one address hammering
// a user's password is slowed down (429 with Retry-After, doubling), while
// the user signs in from another address, and another user from the
// attacker's address, untouched.
func TestConsoleSignInThrottlePerAddress(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	ts.Clock.Set(time.Now())
	email, pw := ts.newConsoleUser(model.RoleHR, "")
	other, otherPW := ts.newConsoleUser(model.RoleHR, "")
	attacker := ts.newConsoleClient().fromAddress("127.0.0.1")
	attacker.want(attacker.get("/admin/login"), 200)
	for i := 0; i < 5; i++ {
		attacker.want(attacker.post("/admin/login", url.Values{"email": {email}, "password": {"not the password"}}), 401)
	}
	p := attacker.want(attacker.post("/admin/login", url.Values{"email": {email}, "password": {"not the password"}}), 429)
	if p.Header.Get("Retry-After") == "" || !strings.Contains(p.Body, "分後") {
		t.Errorf("429 page: %v %.300s", p.Header, p.Body)
	}
	// Even the right password waits at this address: the attacker cannot
	// tell it from a wrong one.
	attacker.want(attacker.post("/admin/login", url.Values{"email": {email}, "password": {pw}}), 429)
	ts.Clock.Advance(time.Second)
	attacker.want(attacker.post("/admin/login", url.Values{"email": {email}, "password": {"not the password"}}), 401)
	p = attacker.want(attacker.post("/admin/login", url.Values{"email": {email}, "password": {"not the password"}}), 429)
	if ra := p.Header.Get("Retry-After"); ra != "2" && ra != "3" { // the delay doubled to 2 s
		t.Errorf("second delay: Retry-After %q, want 2 s", ra)
	}
	// Ten failures in all from this address, each after its delay.
	for i := 6; i < 10; i++ {
		ts.Clock.Advance(20 * time.Second)
		attacker.want(attacker.post("/admin/login", url.Values{"email": {email}, "password": {"not the password"}}), 401)
	}
	attacker.want(attacker.post("/admin/login", url.Values{"email": {email}, "password": {"not the password"}}), 429)

	user := ts.newConsoleClient().fromAddress("127.0.0.2")
	user.want(user.get("/admin/login"), 200)
	user.want(user.post("/admin/login", url.Values{"email": {email}, "password": {pw}}), 303, "/admin/2fa/setup")

	colleague := ts.newConsoleClient().fromAddress("127.0.0.1")
	colleague.want(colleague.get("/admin/login"), 200)
	colleague.want(colleague.post("/admin/login", url.Values{"email": {other}, "password": {otherPW}}), 303, "/admin/2fa/setup")
}

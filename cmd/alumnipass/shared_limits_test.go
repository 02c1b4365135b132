package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// Rate limits across instances (issue 17): two instances on one
// PostgreSQL, an attacker alternating between them. The budgets are those
// of internal/web/httpkit/limits.go; docs/security.md states the bound.

// twoInstances starts two servers on one fresh PostgreSQL database.
func twoInstances(t *testing.T) (a, b *testServer, dbURL, masterKey string) {
	t.Helper()
	dbURL, masterKey = storetest.NewPostgresDB(t), strings.Repeat("7c", 32)
	a = startServerOn(t, openTestStore(t, dbURL, 8), masterKey)
	b = startServerOn(t, openTestStore(t, dbURL, 8), masterKey)
	b.HRToken = a.HRToken
	return a, b, dbURL, masterKey
}

// clientFrom is an HTTP client whose requests come from the loopback
// address ip (127.0.0.0/8 is all local), so that a test can be two clients
// at two addresses.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// postJSONFrom posts a JSON body from a client and decodes the answer.
func postJSONFrom(t *testing.T, c *http.Client, u string, body any) *response {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := c.Post(u, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := &response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	_ = json.Unmarshal(raw, &r.JSON)
	return r
}

// TestSharedLimitsHoldAcrossInstances: enrolment guesses, pairing guesses,
// lost-phone requests and second-factor codes sent alternately to two
// instances get one budget between them, not one each; a user at another
// address (or another console user) is not held back.
func TestSharedLimitsHoldAcrossInstances(t *testing.T) {
	a, b, _, _ := twoInstances(t)
	both := []*testServer{a, b}
	attacker, user := clientFrom("127.0.0.3"), clientFrom("127.0.0.2")

	guesses := func(t *testing.T, path string, body any, budget int) {
		t.Helper()
		answered := 0
		for i := range budget + 10 {
			r := postJSONFrom(t, attacker, both[i%2].URL+path, body)
			switch {
			case r.Status == 429:
				if r.Code() != "rate_limited" || r.Header.Get("Retry-After") == "" {
					t.Fatalf("guess %d refused without rate_limited and Retry-After: %s", i, r.Body)
				}
			case r.Status >= 500:
				t.Fatalf("guess %d: %d %s", i, r.Status, r.Body)
			default:
				answered++
			}
		}
		if answered != budget {
			t.Errorf("%d of %d guesses at %s over two instances were answered; want the one budget of %d", answered, budget+10, path, budget)
		}
		for _, ts := range both {
			if r := postJSONFrom(t, user, ts.URL+path, body); r.Status == 429 {
				t.Errorf("a user at another address is held back: %s", r.Body)
			}
		}
	}
	t.Run("enrolment", func(t *testing.T) {
		guesses(t, "/api/v1/wallet/enroll", map[string]any{"token": "ZZZZZZZZZZZZZZZZZZZZZZZZZZ", "consent": true}, 30)
	})
	t.Run("pairing", func(t *testing.T) {
		guesses(t, "/api/v1/devices/pair", map[string]any{"code": "ZZZZZ-ZZZZZ"}, 10)
	})

	t.Run("lost-phone requests", func(t *testing.T) {
		jar, _ := cookiejar.New(nil) // cookies ignore the port: one browser for both instances
		phone := a.newConsoleClient()
		phone.http.Jar, phone.http.Transport = jar, attacker.Transport
		phone.want(phone.get("/w/recover"), 200)
		sent := 0
		for i := range 10 {
			phone.ts = both[i%2]
			p := phone.do(mustPost(t, phone, "/w/recover", url.Values{"email": {"victim@example.com"}}))
			switch p.Status {
			case 200:
				sent++
			case 429:
			default:
				t.Fatalf("request %d: %d %.300s", i, p.Status, p.Body)
			}
		}
		if sent != 5 {
			t.Errorf("%d of 10 lost-phone requests over two instances were sent; want the one budget of 5", sent)
		}
		other := b.newConsoleClient()
		other.http.Transport = user.Transport
		other.want(other.get("/w/recover"), 200)
		other.want(other.post("/w/recover", url.Values{"email": {"someone.else@example.com"}}), 200)
	})

	t.Run("second-factor codes", func(t *testing.T) {
		email, pw := a.newConsoleUser(model.RoleHR, "")
		secret := a.newConsoleClient().signIn(email, pw, "")
		cc := a.newConsoleClient()
		cc.want(cc.get("/admin/login"), 200)
		cc.want(cc.post("/admin/login", url.Values{"email": {email}, "password": {pw}}), 303, "/admin/2fa")
		cc.want(cc.get("/admin/2fa"), 200)
		right, err := totp.GenerateCode(secret, a.Clock.Now().Add(30*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		wrong := "000000"
		for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
			if c, _ := totp.GenerateCode(secret, a.Clock.Now().Add(d)); c == wrong {
				wrong = "999999"
			}
		}
		refused := 0
		for i := range 14 {
			cc.ts = both[i%2]
			switch p := cc.post("/admin/2fa", url.Values{"code": {wrong}}); p.Status {
			case 401:
			case 429:
				refused++
			default:
				t.Fatalf("wrong code %d: %d", i, p.Status)
			}
		}
		if refused != 4 {
			t.Errorf("%d of 14 wrong codes over two instances were refused 429; want 4 (one budget of 10)", refused)
		}
		for _, ts := range both {
			cc.ts = ts
			cc.want(cc.post("/admin/2fa", url.Values{"code": {right}}), 429)
		}
		// Another console user signs in on either instance.
		other, opw := b.newConsoleUser(model.RoleHR, "")
		b.newConsoleClient().signIn(other, opw, "")
	})
}

// TestVerifyGuessingAcrossInstances: stale scans of one card and refused
// codes of one device key, spread over two instances, meet one budget (the
// documented slack: at most one more per other instance that has not yet
// heard of the block); a card blocked because of failures at one instance
// is refused at the other, right code or wrong, before its own budget is
// touched, and at an instance started afterwards; a burst of concurrent
// guesses gets at most N × the budget and is paid back by a longer block;
// other cards are not affected.
func TestVerifyGuessingAcrossInstances(t *testing.T) {
	a, b, dbURL, masterKey := twoInstances(t)
	both := []*testServer{a, b}
	base := time.Now().UTC().Truncate(time.Second)
	setClocks := func(at time.Time) {
		for _, ts := range both {
			ts.Clock.Set(at)
		}
	}
	setClocks(base)
	stale := func(f *fixture, i int) string { return f.cardCode(t, base.Add(-time.Duration(i+1)*5*time.Minute)) }

	t.Run("alternating stale codes of one card", func(t *testing.T) {
		f := a.newFixture("gold")
		answered := 0
		for i := range 20 {
			r := both[i%2].do("POST", "/api/v1/verify", f.DeviceKey, map[string]string{"code": stale(f, i)})
			switch {
			case r.Status == 200 && r.Str("result") == "stale":
				answered++
			case r.Status != 429:
				t.Fatalf("guess %d: %d %s", i, r.Status, r.Body)
			}
		}
		t.Logf("%d of 20 alternating stale codes answered", answered)
		if answered > 10+1 {
			t.Errorf("%d stale codes of one card answered over two instances; want at most the budget of 10 (+1 slack)", answered)
		}
		for _, ts := range both {
			r := ts.do("POST", "/api/v1/verify", f.DeviceKey, map[string]string{"code": f.cardCode(t, base)})
			if r.Status != 429 {
				t.Errorf("the right code of the blocked card at %s: %d %s", ts.URL, r.Status, r.Body)
			}
		}
		g := b.newFixture("gold")
		for _, ts := range both {
			if r := ts.verify(g.DeviceKey, g.cardCode(t, base)); r.Str("result") != "valid" {
				t.Errorf("another card at %s: %s", ts.URL, r.Body)
			}
		}
	})

	t.Run("blocked at one instance, refused at the other and at a new one", func(t *testing.T) {
		f := a.newFixture("gold")
		for i := range 10 {
			if r := a.verify(f.DeviceKey, stale(f, i)); r.Str("result") != "stale" {
				t.Fatalf("guess %d at A: %s", i, r.Body)
			}
		}
		right := map[string]string{"code": f.cardCode(t, base)}
		wrong := map[string]string{"code": stale(f, 30)}
		// B has seen none of the failures; the notice reaches it well
		// within a second (poll a bounded number of times).
		var r *response
		for i := 0; i < 50; i++ {
			if r = b.do("POST", "/api/v1/verify", f.DeviceKey, wrong); r.Status == 429 {
				break
			}
			if r.Str("result") != "stale" {
				t.Fatalf("B before the notice: %d %s", r.Status, r.Body)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if r.Status != 429 {
			t.Fatalf("B never refused the card blocked at A: %s", r.Body)
		}
		rr := b.do("POST", "/api/v1/verify", f.DeviceKey, right)
		if rr.Status != 429 || string(rr.Body) != string(r.Body) {
			t.Errorf("B tells right from wrong on a blocked card:\nright %d %s\nwrong %d %s", rr.Status, rr.Body, r.Status, r.Body)
		}
		c := startServerOn(t, openTestStore(t, dbURL, 4), masterKey)
		c.Clock.Set(base)
		if r := c.do("POST", "/api/v1/verify", f.DeviceKey, right); r.Status != 429 {
			t.Errorf("an instance started after the block lets the card through: %d %s", r.Status, r.Body)
		}
	})

	t.Run("refused codes of one device key", func(t *testing.T) {
		f := a.newFixture("gold")
		answered := 0
		for i := range 75 {
			r := both[i%2].do("POST", "/api/v1/verify", f.DeviceKey, map[string]string{"code": "AP1:Cguess"})
			switch {
			case r.Status == 200:
				answered++
			case r.Status != 429:
				t.Fatalf("guess %d: %d %s", i, r.Status, r.Body)
			}
		}
		if answered > 60+1 {
			t.Errorf("%d refused codes of one key answered over two instances; want at most the budget of 60 (+1 slack)", answered)
		}
		g := a.newFixture("gold")
		if r := b.verify(g.DeviceKey, g.cardCode(t, base)); r.Str("result") != "valid" {
			t.Errorf("another key: %s", r.Body)
		}
	})

	t.Run("a concurrent burst is bounded and paid back", func(t *testing.T) {
		f := a.newFixture("gold")
		keys := a.newDeviceKeys(f, 19)
		var mu sync.Mutex
		var wg sync.WaitGroup
		answered := 0
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := both[i%2].raw("POST", "/api/v1/verify", keys[i%len(keys)], "application/json", []byte(`{"code":"`+stale(f, i)+`"}`))
				mu.Lock()
				defer mu.Unlock()
				if r.Status == 200 {
					answered++
				}
			}()
		}
		wg.Wait()
		t.Logf("%d of 40 concurrent stale codes answered over two instances", answered)
		if answered > 2*10 {
			t.Fatalf("%d answered; the bound is N × budget = 20", answered)
		}
		// Every answered failure is paid back: the card stays blocked for
		// ⌈answered/10⌉ windows from the first failure, so the average over
		// the burst and its block is at most 10 a minute.
		periods := max((answered+9)/10, 1)
		setClocks(base.Add(time.Duration(periods)*time.Minute - 2*time.Second))
		defer setClocks(base)
		if r := b.do("POST", "/api/v1/verify", f.DeviceKey, map[string]string{"code": f.cardCode(t, b.Clock.Now())}); r.Status != 429 {
			t.Errorf("the card is let through before its %d blocked windows end: %d %s", periods, r.Status, r.Body)
		}
		setClocks(base.Add(time.Duration(periods)*time.Minute + 2*time.Second))
		if r := b.verify(f.DeviceKey, f.cardCode(t, b.Clock.Now())); r.Str("result") != "valid" {
			t.Errorf("after the block: %s", r.Body)
		}
	})
}

package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/store"
)

// FuzzAPI sends fuzzed requests (method, path, body, Content-Type, one
// extra header, and a choice of credential) to the whole Fiber app, on
// SQLite: no answer may be a 5xx, and nothing may panic (the recover
// middleware would turn a panic into a 500). In paths and bodies, {member},
// {partner}, {perk}, {card}, {verification} and {code} stand for real ids
// and a live card code, so that mutations reach past the id checks.
//
//	go test -run '^$' -fuzz '^FuzzAPI$' -fuzztime 2m ./cmd/alumnipass/
func FuzzAPI(f *testing.F) {
	ts := startServer(f, store.SQLite)
	fx := ts.newFixture("gold")
	now := time.Now()
	v := ts.verify(fx.DeviceKey, fx.cardCode(f, now))
	if v.Str("result") != "valid" {
		f.Fatalf("setup scan: %s", v.Body)
	}
	slots := strings.NewReplacer("{member}", fx.MemberID, "{partner}", fx.PartnerID, "{perk}", fx.PerkID,
		"{card}", fx.CardID, "{verification}", v.Str("verification_id"), "{code}", fx.cardCode(f, now))
	tokens := []string{"", ts.HRToken, fx.DeviceKey, fx.WalletToken, "aph_not_a_token"}
	app := ts.App.server.App()

	for _, s := range []struct {
		method, path, body, ctype string
		header                    string
		token                     uint8
	}{
		{"GET", "/healthz", "", "", "", 0},
		{"GET", "/api/v1/members?q=%E5%B1%B1&limit=5", "", "", "", 1},
		{"GET", "/api/v1/members/{member}", "", "", "", 1},
		{"POST", "/api/v1/members", `{"employee_no":"F1","family_name":"a","given_name":"b","email":"f@example.com","tier":"gold","departed_on":"2024-01-01"}`, "application/json", "", 1},
		{"POST", "/api/v1/members/{member}/suspend", `{"reason":"x"}`, "application/json", "", 1},
		{"POST", "/api/v1/members/{member}/reinstate", ``, "", "", 1},
		{"POST", "/api/v1/members/import?dry_run=1", "employee_no,family_name,given_name,email,tier,departed_on\nF2,a,b,f2@example.com,gold,2024-01-01\n", "text/csv", "", 1},
		{"GET", "/api/v1/audit?since=2024-01-01&limit=3", "", "", "", 1},
		{"POST", "/api/v1/partners", `{"name":"p","kind":"hotel"}`, "application/json", "", 1},
		{"POST", "/api/v1/partners/{partner}/perks", `{"title":"t","eligible_tiers":["*"],"companions":1,"days":["mon"],"hours":"11:00-14:00"}`, "application/json", "", 1},
		{"GET", "/api/v1/partners/{partner}/redemptions?format=csv", "", "", "", 1},
		{"POST", "/api/v1/verify", `{"code":"{code}"}`, "application/json", "", 2},
		{"POST", "/api/v1/redemptions", `{"verification_id":"{verification}","perk_id":"{perk}","party_size":1}`, "application/json", "Idempotency-Key: fuzz-key-0001", 2},
		{"GET", "/api/v1/wallet/code", "", "", "", 3},
		{"POST", "/api/v1/wallet/guest-passes", `{"party_size":1,"valid_until":"2030-01-01"}`, "application/json", "", 3},
		{"POST", "/api/v1/wallet/enroll", `{"token":"ape_x","consent":true}`, "application/json", "", 0},
		{"POST", "/w/enroll/ape_x", "consent=1&_csrf=x", "application/x-www-form-urlencoded", "Cookie: ap_csrf=x", 0},
		{"GET", "/w", "", "", "Cookie: ap_wallet=apw_x", 0},
		{"GET", "/g/00000000-0000-0000-0000-000000000000", "", "", "Accept: text/html", 0},
		{"GET", "/scan?lang=en", "", "", "Accept-Language: ja", 0},
		{"DELETE", "/api/v1/members/{member}", "", "", "", 1},
		{"POST", "/api/v1/devices/pair", `{"code":"123456"}`, "application/json", "X-Forwarded-For: 1.2.3.4", 0},
	} {
		f.Add(s.method, s.path, []byte(s.body), s.ctype, s.header, s.token)
	}

	f.Fuzz(func(t *testing.T, method, path string, body []byte, ctype, header string, token uint8) {
		if !strings.HasPrefix(path, "/") || len(path) > 4096 {
			return
		}
		body = []byte(slots.Replace(string(body)))
		build := func(base string) *http.Request {
			req, err := http.NewRequest(method, base+slots.Replace(path), bytes.NewReader(body))
			if err != nil || req.URL.Opaque != "" {
				return nil // not an HTTP request a client could send
			}
			if ctype != "" && validHeaderValue(ctype) {
				req.Header.Set("Content-Type", ctype)
			}
			if name, value, ok := strings.Cut(header, ":"); ok && validHeaderName(name) && validHeaderValue(strings.TrimSpace(value)) &&
				!strings.EqualFold(name, "Content-Length") && !strings.EqualFold(name, "Transfer-Encoding") && !strings.EqualFold(name, "Host") {
				req.Header.Set(name, strings.TrimSpace(value))
			}
			if tok := tokens[int(token)%len(tokens)]; tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			return req
		}
		req := build("http://alumnipass.test")
		if req == nil {
			return
		}
		resp, err := app.Test(req, -1)
		if err != nil {
			// app.Test reports a connection-level error (a malformed
			// multipart body, say) even after the server answered it;
			// the real server shows what a client gets.
			resp, err = http.DefaultClient.Do(build(ts.URL))
			if err != nil {
				t.Fatalf("%s %q: %v", method, path, err)
			}
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %q (Content-Type %q, %q, token %d) body %q\n→ %d %s", method, path, ctype, header, token, body, resp.StatusCode, b)
		}
	})
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

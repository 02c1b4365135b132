package main

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/credential"
)

// headOnly writes a request head on a new connection and reads the answer.
func (ts *testServer) headOnly(head string) *response {
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		return &response{Body: []byte(err.Error())}
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, head); err != nil {
		return &response{Body: []byte(err.Error())}
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return &response{Body: []byte(err.Error())}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	_ = json.Unmarshal(b, &r.JSON)
	return r
}

// checkRefusal fails unless r is a 4xx with the API's error shape.
func checkRefusal(t *testing.T, what string, r *response) {
	t.Helper()
	if r.Status < 400 || r.Status > 499 {
		t.Errorf("%s: want a 4xx refusal, got %d %.300s", what, r.Status, r.Body)
		return
	}
	e, ok := r.JSON["error"].(map[string]any)
	code, _ := e["code"].(string)
	msg, _ := e["message"].(string)
	if !ok || code == "" || msg == "" {
		t.Errorf("%s: %d without the {\"error\":{\"code\",\"message\"}} shape: %.300s", what, r.Status, r.Body)
	}
}

// stateDigest summarises everything a refused request must leave alone:
// row counts, valid verifications, and the contents of the tables a
// request could edit in place. Verification rows of refused codes are
// logged by design and so are not counted.
func (ts *testServer) stateDigest() map[string]string {
	ts.t.Helper()
	out := map[string]string{}
	for name, q := range map[string]string{
		"members":             "SELECT COUNT(*) FROM members",
		"valid verifications": "SELECT COUNT(*) FROM verifications WHERE result = 'valid'",
		"redemptions":         "SELECT COUNT(*) FROM redemptions",
		"audit_log":           "SELECT COUNT(*) FROM audit_log",
		"partners":            "SELECT COUNT(*) FROM partners",
		"venues":              "SELECT COUNT(*) FROM venues",
		"perks":               "SELECT COUNT(*) FROM perks",
		"cards":               "SELECT COUNT(*) FROM cards",
		"guest_passes":        "SELECT COUNT(*) FROM guest_passes",
		"api_keys":            "SELECT COUNT(*) FROM api_keys",
		"code_uses":           "SELECT COUNT(*) FROM code_uses",
		"perk_usage":          "SELECT COUNT(*) FROM perk_usage",
		"pairing_codes":       "SELECT COUNT(*) FROM pairing_codes",
	} {
		var n int
		if err := ts.Store.DB().QueryRow(q).Scan(&n); err != nil {
			ts.t.Fatalf("%s: %v", name, err)
		}
		out[name] = fmt.Sprint(n)
	}
	for name, q := range map[string]string{
		"members content":      "SELECT id, employee_no, family_name, given_name, email, tier, status, status_reason, locale FROM members ORDER BY id",
		"cards content":        "SELECT id, status, COALESCE(wallet_token_hash, '') FROM cards ORDER BY id",
		"guest passes content": "SELECT id, uses, status FROM guest_passes ORDER BY id",
		"perk_usage content":   "SELECT perk_id, member_id, period, uses FROM perk_usage ORDER BY perk_id, member_id, period",
	} {
		out[name] = ts.tableDigest(q)
	}
	return out
}

// tableDigest hashes the text of every value a query returns.
func (ts *testServer) tableDigest(q string) string {
	ts.t.Helper()
	rows, err := ts.Store.DB().Query(q)
	if err != nil {
		ts.t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	h := sha256.New()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			ts.t.Fatal(err)
		}
		for _, v := range vals {
			fmt.Fprintf(h, "%v\x00", v)
		}
	}
	if err := rows.Err(); err != nil {
		ts.t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func diffDigest(before, after map[string]string) []string {
	var changed []string
	for k, v := range before {
		if after[k] != v {
			changed = append(changed, k)
		}
	}
	slices.Sort(changed)
	return changed
}

// badCase is one hostile request that must be refused (4xx) or, for a
// verification, decided as one of decisions; either way nothing changes.
type badCase struct {
	name                string
	method, path, token string
	ctype               string
	body                []byte
	headers             []string
	decisions           []string // 200 answers allowed (verify only)
	code                string   // the error code expected, when it is certain
}

func (ts *testServer) runBad(t *testing.T, c badCase) {
	t.Helper()
	before := ts.stateDigest()
	r := ts.raw(c.method, c.path, c.token, c.ctype, c.body, c.headers...)
	switch {
	case r.Status == 200 && len(c.decisions) > 0:
		if res := r.Str("result"); !slices.Contains(c.decisions, res) {
			t.Errorf("%s: decided %q, want one of %v: %.300s", c.name, res, c.decisions, r.Body)
		}
	default:
		checkRefusal(t, c.name, r)
		if c.code != "" && r.Code() != c.code && r.Status != 429 { // the pairing limit may answer first
			t.Errorf("%s: error code %q, want %q: %.300s", c.name, r.Code(), c.code, r.Body)
		}
	}
	if changed := diffDigest(before, ts.stateDigest()); len(changed) > 0 {
		t.Errorf("%s: answered %d but changed %v", c.name, r.Status, changed)
	}
}

// hostileText is text that would do harm if a layer interpreted it: SQL,
// HTML and script, template syntax, format verbs, placeholders.
var hostileText = []string{
	`<script>alert("xss")</script>`,
	`'; DROP TABLE members; --`,
	`Robert'); DELETE FROM audit_log WHERE ('1'='1`,
	`" OR "1"="1`,
	`<img src=x onerror=alert(1)>`,
	`</script><script>alert(1)</script>`,
	`{{define "layout"}}pwned{{end}}`,
	`%s %d %n %!x $1 ? :name`,
	`\'; SELECT pg_sleep(30); --`,
	`=HYPERLINK("http://evil.example","x")`,
}

// TestBadInputBattery sends hostile and malformed input to every JSON
// route, on both databases: each answer is a 4xx with the error shape, or a
// 200 refusal of a code, never a 5xx, and nothing changes.
func TestBadInputBattery(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		now := time.Now().UTC().Truncate(time.Second)
		ts.Clock.Set(now)
		f := ts.newFixture("gold")
		valid := ts.verify(f.DeviceKey, f.cardCode(t, now))
		if valid.Str("result") != "valid" {
			t.Fatalf("setup: %s", valid.Body)
		}
		vid := valid.Str("verification_id")

		t.Run("codes", func(t *testing.T) { badCodes(t, ts, f, now) })
		t.Run("bodies", func(t *testing.T) { badBodies(t, ts, f, vid) })
		t.Run("numbers", func(t *testing.T) { badNumbers(t, ts, f, vid) })
		t.Run("auth and paths", func(t *testing.T) { badAuthAndPaths(t, ts, f) })
		t.Run("hostile text", func(t *testing.T) { hostileTextFields(t, ts, f) })
		t.Run("control characters", func(t *testing.T) { controlCharacters(t, ts, f) })
	})
}

// badCodes: truncations, every single-bit flip that stays ASCII, wrong
// prefixes, an unknown key, lowercase, and non-code text. The verify
// limiter allows 60 refused codes a minute per key, so the clock moves a
// minute every 50 codes and each chunk uses the card's code of that time.
func badCodes(t *testing.T, ts *testServer, f *fixture, now time.Time) {
	type mutation struct {
		name    string
		mutate  func(code string) string
		allowed []string
	}
	var ms []mutation
	sample := f.cardCode(t, now)
	totpEnd := len(credential.Prefix) + 1 + credential.TOTPDigits
	for n := 1; n < len(sample); n++ {
		ms = append(ms, mutation{fmt.Sprintf("truncated to %d", n), func(c string) string { return c[:n] }, []string{"invalid"}})
	}
	for i := 0; i < len(sample); i++ {
		for bit := 0; bit < 7; bit++ {
			allowed := []string{"invalid", "unknown_key"}
			if i >= len(credential.Prefix)+1 && i < totpEnd {
				// A changed TOTP digit leaves the signed part intact: stale.
				allowed = []string{"invalid", "stale"}
			}
			ms = append(ms, mutation{fmt.Sprintf("bit %d of char %d flipped", bit, i), func(c string) string {
				b := []byte(c)
				b[i] ^= 1 << bit
				return string(b)
			}, allowed})
		}
	}
	_, foreign, _ := ed25519.GenerateKey(rand.Reader)
	foreignKid := credential.KeyIDOf(foreign.Public().(ed25519.PublicKey))
	ms = append(ms, []mutation{
		{"lowercase", strings.ToLower, []string{"invalid"}},
		{"prefix AP2", func(c string) string { return "AP2:" + c[4:] }, []string{"invalid"}},
		{"prefix ap1", func(c string) string { return "ap1:" + c[4:] }, []string{"invalid"}},
		{"prefix without colon", func(c string) string { return "AP1" + c[4:] }, []string{"invalid"}},
		{"no prefix", func(c string) string { return c[4:] }, []string{"invalid"}},
		{"prefix doubled", func(c string) string { return "AP1:" + c }, []string{"invalid"}},
		{"kind G on a card", func(c string) string { return c[:4] + "G" + c[5:] }, []string{"invalid"}},
		{"kind X", func(c string) string { return c[:4] + "X" + c[5:] }, []string{"invalid"}},
		{"code appended twice", func(c string) string { return c + c }, []string{"invalid"}},
		{"inner space", func(c string) string { return c[:20] + " " + c[20:] }, []string{"invalid"}},
		{"full-width digits", func(c string) string { return c[:5] + "１２３４５６" + c[11:] }, []string{"invalid"}},
		{"NUL inside", func(c string) string { return c[:12] + "\x00" + c[12:] }, []string{"invalid"}},
		{"unknown key id", func(c string) string {
			signed, err := credential.SignCard(foreign, credential.Card{KeyID: foreignKid, CardID: uuid.New(),
				IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour), Companions: 1, Tier: "gold"})
			if err != nil {
				t.Fatal(err)
			}
			return credential.CardCode(signed, c[5:11])
		}, []string{"unknown_key"}},
		{"foreign key, our card id", func(c string) string {
			cid := uuid.MustParse(f.CardID)
			signed, err := credential.SignCard(foreign, credential.Card{KeyID: foreignKid, CardID: cid,
				IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour), Companions: 1, Tier: "gold"})
			if err != nil {
				t.Fatal(err)
			}
			return credential.CardCode(signed, c[5:11])
		}, []string{"unknown_key"}},
	}...)

	before := ts.stateDigest()
	defer ts.Clock.Set(now)
	decided := map[string]int{}
	// Ten codes a minute: the card's guessing budget (ten stale codes a
	// minute, after which every code naming it is answered 429) is never
	// reached, so every code is decided.
	for chunk := 0; chunk*10 < len(ms); chunk++ {
		at := now.Add(time.Duration(chunk+1) * 61 * time.Second)
		ts.Clock.Set(at)
		code := f.cardCode(t, at)
		for _, m := range ms[chunk*10 : min(len(ms), chunk*10+10)] {
			bad := m.mutate(code)
			body, _ := json.Marshal(map[string]string{"code": bad})
			r := ts.raw("POST", "/api/v1/verify", f.DeviceKey, "application/json", body)
			if r.Status != 200 {
				checkRefusal(t, m.name, r)
				decided[fmt.Sprint(r.Status)]++
				continue
			}
			res := r.Str("result")
			decided[res]++
			if !slices.Contains(m.allowed, res) || r.Str("verification_id") != "" {
				t.Errorf("%s (%q): decided %s, want one of %v: %s", m.name, bad, res, m.allowed, r.Body)
			}
		}
	}
	t.Logf("%d altered codes decided: %v", len(ms), decided)
	if decided["429"] > 0 {
		t.Errorf("the battery ran into the guessing limit %d times; it no longer tests the decision", decided["429"])
	}
	if changed := diffDigest(before, ts.stateDigest()); len(changed) > 0 {
		t.Errorf("refused codes changed %v", changed)
	}

	// A guest pass is fully signature-checked: a sample of its flips.
	ts.Clock.Set(time.Time{})
	g := ts.must(ts.do("POST", "/api/v1/wallet/guest-passes", f.WalletToken, map[string]any{
		"party_size": 1, "valid_until": time.Now().Add(24 * time.Hour).Format(time.RFC3339)}), 201)
	gcode := g.Str("code")
	ts.Clock.Set(now.Add(time.Hour))
	before = ts.stateDigest()
	n := 0
	for i := 0; i < len(gcode); i += 3 {
		b := []byte(gcode)
		b[i] ^= 1 << (i % 7)
		if n++; n%50 == 0 {
			ts.Clock.Advance(61 * time.Second)
		}
		r := ts.verify(f.DeviceKey, string(b))
		if res := r.Str("result"); res != "invalid" && res != "unknown_key" {
			t.Errorf("guest code with char %d flipped: %s", i, r.Body)
		}
	}
	for _, bad := range []string{gcode[:len(gcode)-1], gcode[:40], strings.ToLower(gcode), "AP1:C" + gcode[5:]} {
		if r := ts.verify(f.DeviceKey, bad); r.Str("result") != "invalid" {
			t.Errorf("guest code %q: %s", bad, r.Body)
		}
	}
	if changed := diffDigest(before, ts.stateDigest()); len(changed) > 0 {
		t.Errorf("refused guest codes changed %v", changed)
	}
}

// jsonRoute is a route that takes a JSON body, with a caller allowed on it
// and a body it would accept (so that only the damage is tested).
type jsonRoute struct {
	path, token string
	good        string
	headers     []string
	emptyOK     bool // an empty body is a valid request (status changes)
}

func jsonRoutes(ts *testServer, f *fixture, vid string) []jsonRoute {
	return []jsonRoute{
		{path: "/api/v1/verify", token: f.DeviceKey, good: `{"code":"AP1:C000000"}`},
		{path: "/api/v1/members", token: ts.HRToken, good: `{"employee_no":"BAD1","family_name":"a","given_name":"b","email":"a@example.com","tier":"gold","departed_on":"2024-01-01"}`},
		{path: "/api/v1/members/" + f.MemberID + "/suspend", token: ts.HRToken, good: `{"reason":"x"}`, emptyOK: true},
		{path: "/api/v1/members/" + f.MemberID + "/revoke", token: ts.HRToken, good: `{"reason":"x"}`},
		{path: "/api/v1/partners", token: ts.HRToken, good: `{"name":"p","kind":"hotel"}`},
		{path: "/api/v1/partners/" + f.PartnerID + "/venues", token: ts.HRToken, good: `{"name":"v"}`},
		{path: "/api/v1/partners/" + f.PartnerID + "/keys", token: ts.HRToken, good: `{"name":"k"}`},
		{path: "/api/v1/partners/" + f.PartnerID + "/perks", token: ts.HRToken, good: `{"title":"t","eligible_tiers":["*"],"companions":1}`},
		{path: "/api/v1/redemptions", token: f.DeviceKey, good: `{"verification_id":"` + vid + `","perk_id":"` + f.PerkID + `","party_size":1}`,
			headers: []string{"Idempotency-Key", uuid.NewString()}},
		{path: "/api/v1/wallet/guest-passes", token: f.WalletToken, good: `{"party_size":1,"valid_until":"` + time.Now().Add(24*time.Hour).Format(time.RFC3339) + `"}`},
		{path: "/api/v1/wallet/enroll", good: `{"token":"ape_nosuchtoken","consent":true}`},
		{path: "/api/v1/devices/pair", good: `{"code":"000000"}`},
	}
}

// badBodies sends every JSON route bodies that are too large, not JSON,
// too deep, not UTF-8, or of the wrong type.
func badBodies(t *testing.T, ts *testServer, f *fixture, vid string) {
	big := []byte(`{"code":"` + strings.Repeat("A", 1<<20) + `"}`)
	deepArray := []byte(strings.Repeat("[", 10000) + strings.Repeat("]", 10000))
	deepObject := []byte(strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000))
	deepInField := []byte(`{"code":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`)
	for _, rt := range jsonRoutes(ts, f, vid) {
		good := []byte(rt.good)
		cases := []struct {
			name, ctype string
			body        []byte
			code        string
		}{
			{"1 MB of JSON", "application/json", big, "body_too_large"},
			{"1 MB of zeros", "application/json", make([]byte, 1<<20), "body_too_large"},
			{"not JSON", "application/json", []byte("hello"), ""},
			{"JSON with single quotes", "application/json", []byte(`{'code':'x'}`), ""},
			{"truncated JSON", "application/json", good[:len(good)/2], ""},
			{"trailing data", "application/json", append(append([]byte{}, good...), []byte(` {"x":1}`)...), ""},
			{"array", "application/json", []byte(`[` + rt.good + `]`), ""},
			{"null", "application/json", []byte(`null`), ""},
			{"string", "application/json", []byte(`"x"`), ""},
			{"number", "application/json", []byte(`12345678901234567890`), ""},
			{"nested 10,000 deep (array)", "application/json", deepArray, ""},
			{"nested 10,000 deep (object)", "application/json", deepObject, ""},
			{"nested 10,000 deep in a field", "application/json", deepInField, ""},
			{"invalid UTF-8", "application/json", bytes.Replace(good, []byte(`":"`), []byte("\":\"\xff\xfe\xc3\x28"), -1), ""},
			{"UTF-16 body", "application/json", utf16(rt.good), ""},
			{"wrong Content-Type text/plain", "text/plain", good, "unsupported_media_type"},
			{"wrong Content-Type form", "application/x-www-form-urlencoded", good, "unsupported_media_type"},
			{"wrong Content-Type multipart", "multipart/form-data; boundary=x", good, ""},
			{"wrong Content-Type csv", "text/csv", good, "unsupported_media_type"},
			{"empty Content-Type, form body", "", []byte("code=AP1%3AC000000&name=x"), "unsupported_media_type"},
			{"empty Content-Type, JSON body", "", good, "unsupported_media_type"},
		}
		if !rt.emptyOK {
			cases = append(cases, struct {
				name, ctype string
				body        []byte
				code        string
			}{"empty body", "application/json", nil, ""}, struct {
				name, ctype string
				body        []byte
				code        string
			}{"whitespace body", "application/json", []byte(" \r\n\t "), ""})
		}
		for _, c := range cases {
			ts.runBad(t, badCase{name: rt.path + ": " + c.name, method: "POST", path: rt.path, token: rt.token,
				ctype: c.ctype, body: c.body, headers: rt.headers, code: c.code})
		}
	}
	// The CSV import: wrong type, bytes that are neither UTF-8 nor Shift_JIS,
	// a header only, a line too many columns wide, an empty file.
	for _, c := range []struct {
		name, ctype string
		body        []byte
	}{
		{"JSON to the CSV import", "application/json", []byte(`{"employee_no":"X"}`)},
		{"no Content-Type", "", []byte("employee_no,family_name\n1,a\n")},
		{"neither UTF-8 nor Shift_JIS", "text/csv", []byte("employee_no,family_name,given_name,email,tier,departed_on\nZ1,\xff\xff\xfd,b,z@example.com,gold,2024-01-01\n")},
		{"unknown encoding", "text/csv; charset=ebcdic", []byte("employee_no\n")},
		{"header only with a bad column", "text/csv", []byte("employee_no,<script>,given_name\n")},
		{"empty", "text/csv", nil},
		{"SQL in a cell of a bad line", "text/csv", []byte("employee_no,family_name,given_name,email,tier,departed_on\nZ2,'); DROP TABLE members;--,b,not-an-email,gold,2024-01-01\n")},
		{"nested quotes", "text/csv", []byte("employee_no,family_name\n\"\"\"\"\"\n")},
	} {
		// Expect: 100-continue lets the server refuse an oversized body
		// before it is sent, instead of resetting the connection under it.
		ts.runBad(t, badCase{name: "import: " + c.name, method: "POST", path: "/api/v1/members/import", token: ts.HRToken, ctype: c.ctype, body: c.body})
	}
	// Over the server-wide limit the server answers before reading the
	// body (and then closes), so the request announces one byte too many
	// and sends only the 16 KiB a client has sent before any answer can
	// reach it (bodies are streamed: the server takes the first 8 KiB with
	// the head, TestBodyLimitsBeforeReading).
	before := ts.stateDigest()
	r := ts.headOnly(fmt.Sprintf("POST /api/v1/members/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: text/csv\r\nContent-Length: %d\r\n\r\n", ts.HRToken, ts.App.cfg.BodyLimit+1) + strings.Repeat("a", 16<<10))
	checkRefusal(t, "import over the body limit", r)
	if r.Status != 413 || r.Code() != "body_too_large" {
		t.Errorf("import over the body limit: %d %s, want 413 body_too_large", r.Status, r.Body)
	}
	if changed := diffDigest(before, ts.stateDigest()); len(changed) > 0 {
		t.Errorf("import over the body limit changed %v", changed)
	}
}

func utf16(s string) []byte {
	out := []byte{0xff, 0xfe}
	for _, r := range s {
		out = append(out, byte(r), byte(r>>8))
	}
	return out
}

// badNumbers: huge, negative, fractional and mistyped numbers and times.
func badNumbers(t *testing.T, ts *testServer, f *fixture, vid string) {
	redeem := func(party string) string {
		return `{"verification_id":"` + vid + `","perk_id":"` + f.PerkID + `","party_size":` + party + `}`
	}
	until := `"` + time.Now().Add(24*time.Hour).Format(time.RFC3339) + `"`
	perk := func(field, v string) string {
		return `{"title":"t","eligible_tiers":["*"],"companions":1,"` + field + `":` + v + `}`
	}
	type num struct{ path, token, body string }
	var cases []num
	for _, p := range []string{"-1", "0", "-9223372036854775808", "9223372036854775807", "9223372036854775808", "1e300", "-1e300", "1.5", `"2"`, "null", "true", "[1]", "{}"} {
		cases = append(cases, num{"/api/v1/redemptions", f.DeviceKey, redeem(p)})
	}
	for _, body := range []string{
		`{"party_size":-1,"valid_until":` + until + `}`,
		`{"party_size":0,"valid_until":` + until + `}`,
		`{"party_size":256,"valid_until":` + until + `}`,
		`{"party_size":4294967297,"valid_until":` + until + `}`,
		`{"party_size":1e300,"valid_until":` + until + `}`,
		`{"party_size":1,"max_uses":-1,"valid_until":` + until + `}`,
		`{"party_size":1,"max_uses":65537,"valid_until":` + until + `}`,
		`{"party_size":1,"valid_until":"9999-12-31T23:59:59Z"}`,
		`{"party_size":1,"valid_until":"0001-01-01T00:00:00Z"}`,
		`{"party_size":1,"valid_until":"2026-02-30"}`,
		`{"party_size":1,"valid_until":"+275760-09-13T00:00:00Z"}`,
		`{"party_size":1,"valid_from":"1969-12-31T23:59:59Z","valid_until":` + until + `}`,
		`{"party_size":1,"valid_until":12345}`,
	} {
		cases = append(cases, num{"/api/v1/wallet/guest-passes", f.WalletToken, body})
	}
	for _, fv := range [][2]string{
		{"companions", "-1"}, {"companions", "21"}, {"companions", "1e300"}, {"companions", "9223372036854775807"},
		{"limit_per_day", "-1"}, {"limit_per_day", "1000000000000"}, {"limit_per_month", "-9223372036854775808"},
		{"limit_per_day", "1.5"}, {"days", `["mon","someday"]`}, {"days", `"mon"`}, {"hours", `"25:00-26:00"`},
		{"hours", `"10:00-10:00"`}, {"eligible_tiers", `[]`}, {"eligible_tiers", `["Gold Tier"]`},
		{"eligible_tiers", `["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q","r","s","t","u"]`},
	} {
		body := perk(fv[0], fv[1])
		if fv[0] == "eligible_tiers" {
			body = `{"title":"t","companions":1,"eligible_tiers":` + fv[1] + `}`
		}
		cases = append(cases, num{"/api/v1/partners/" + f.PartnerID + "/perks", ts.HRToken, body})
	}
	member := func(field, v string) string {
		m := map[string]any{"employee_no": "NUM1", "family_name": "a", "given_name": "b", "email": "n@example.com", "tier": "gold", "departed_on": "2024-01-01"}
		m[field] = json.RawMessage(v)
		b, _ := json.Marshal(m)
		return string(b)
	}
	for _, fv := range [][2]string{
		{"departed_on", `"99999-01-01"`}, {"departed_on", `"2024-02-30"`}, {"departed_on", `20240101`},
		{"employee_no", `12345`}, {"employee_no", `"` + strings.Repeat("9", 33) + `"`},
		{"family_name", `"` + strings.Repeat("長", 65) + `"`}, {"family_name", `"` + strings.Repeat("x", 10000) + `"`},
		{"email", `"` + strings.Repeat("a", 250) + `@example.com"`}, {"tier", `"` + strings.Repeat("a", 17) + `"`},
	} {
		cases = append(cases, num{"/api/v1/members", ts.HRToken, member(fv[0], fv[1])})
	}
	for i, c := range cases {
		ts.runBad(t, badCase{name: c.path + " " + c.body, method: "POST", path: c.path, token: c.token, ctype: "application/json",
			body: []byte(c.body), headers: []string{"Idempotency-Key", fmt.Sprintf("numbers-%08d", i)}})
	}
	for _, q := range []string{"limit=-1", "limit=0", "limit=99999999999999999999", "limit=1e3", "limit=abc", "status=deleted", "q=" + strings.Repeat("x", 101)} {
		ts.runBad(t, badCase{name: "members?" + q, method: "GET", path: "/api/v1/members?" + q, token: ts.HRToken})
	}
	for _, q := range []string{"limit=-5", "limit=100000", "since=yesterday", "until=2024-13-01", "since=" + url.QueryEscape("'; DROP TABLE audit_log;--")} {
		ts.runBad(t, badCase{name: "audit?" + q, method: "GET", path: "/api/v1/audit?" + q, token: ts.HRToken})
	}
}

// badAuthAndPaths: broken credentials, the wrong kind of caller, and ids
// that are not ids.
func badAuthAndPaths(t *testing.T, ts *testServer, f *fixture) {
	body := []byte(`{"name":"x","kind":"hotel"}`)
	for _, c := range []struct {
		name, auth string
	}{
		{"no Authorization", ""},
		{"Bearer and nothing", "Bearer "},
		{"Basic", "Basic " + "aHI6aHI="},
		{"garbage token", "Bearer aph_" + strings.Repeat("z", 52)},
		{"token with SQL", "Bearer ' OR '1'='1"},
		{"10 KB token", "Bearer " + strings.Repeat("a", 10000)},
		{"device key on an HR route", "Bearer " + f.DeviceKey},
		{"wallet token on an HR route", "Bearer " + f.WalletToken},
		{"HR token with a suffix", "Bearer " + ts.HRToken + "x"},
		{"HR token truncated", "Bearer " + ts.HRToken[:len(ts.HRToken)-1]},
	} {
		ts.runBad(t, badCase{name: "partners, " + c.name, method: "POST", path: "/api/v1/partners", ctype: "application/json", body: body,
			headers: []string{"Authorization", c.auth}})
	}
	ts.runBad(t, badCase{name: "verify with an HR token", method: "POST", path: "/api/v1/verify", token: ts.HRToken,
		ctype: "application/json", body: []byte(`{"code":"AP1:C000000"}`), code: "forbidden"})
	ts.runBad(t, badCase{name: "guest pass with a device key", method: "POST", path: "/api/v1/wallet/guest-passes", token: f.DeviceKey,
		ctype: "application/json", body: []byte(`{"party_size":1}`)})
	for _, id := range []string{"x", "'%20OR%20'1'='1", "..%2F..%2Fetc%2Fpasswd", "%00", uuid.NewString(), strings.Repeat("a", 5000), "%E2%80%AE"} {
		for _, p := range []struct{ method, path string }{
			{"GET", "/api/v1/members/" + id},
			{"POST", "/api/v1/members/" + id + "/suspend"},
			{"POST", "/api/v1/members/" + id + "/cards"},
			{"GET", "/api/v1/partners/" + id},
			{"POST", "/api/v1/partners/" + id + "/perks"},
			{"POST", "/api/v1/wallet/guest-passes/" + id + "/cancel"},
		} {
			tok := ts.HRToken
			if strings.Contains(p.path, "wallet") {
				tok = f.WalletToken
			}
			b := []byte(`{"title":"t","eligible_tiers":["*"],"companions":1}`)
			ts.runBad(t, badCase{name: p.method + " " + p.path[:min(len(p.path), 80)], method: p.method, path: p.path, token: tok, ctype: "application/json", body: b})
		}
	}
	// A search is text, not SQL: an injection finds nothing.
	for _, q := range []string{"' OR '1'='1", "%' OR 1=1 --", "'); DROP TABLE members; --", "\\", "_"} {
		r := ts.must(ts.do("GET", "/api/v1/members?q="+url.QueryEscape(q), ts.HRToken, nil), 200)
		if ms, _ := r.JSON["members"].([]any); len(ms) != 0 {
			t.Errorf("search %q found %d members: %.300s", q, len(ms), r.Body)
		}
	}
}

// hostileTextFields stores SQL and script text in every free-text field
// of members, partners and perks: it is kept verbatim (or refused), shown
// escaped in pages, neutralised in CSV, and never run.
func hostileTextFields(t *testing.T, ts *testServer, f *fixture) {
	for i, text := range hostileText {
		fields := map[string]any{"employee_no": fmt.Sprintf("H%03d", i), "family_name": "安全", "given_name": "花子",
			"family_name_kana": "アンゼン", "given_name_kana": "ハナコ", "email": fmt.Sprintf("h%d@example.com", i), "tier": "gold",
			"departed_on": "2024-03-31", "locale": "ja"}
		for fi, field := range []string{"employee_no", "family_name", "given_name", "family_name_kana", "given_name_kana", "email", "tier", "departed_on", "locale"} {
			in := map[string]any{}
			for k, v := range fields {
				in[k] = v
			}
			in[field] = text
			in["employee_no"] = fmt.Sprintf("H%03dF%d", i, fi)
			if field == "employee_no" {
				in["employee_no"] = text
			}
			before := ts.stateDigest()
			r := ts.do("POST", "/api/v1/members", ts.HRToken, in)
			switch r.Status {
			case 201:
				got := ts.must(ts.do("GET", "/api/v1/members/"+r.Str("id"), ts.HRToken, nil), 200)
				if got.Str(field) != text {
					t.Errorf("member %s %q stored as %q", field, text, got.Str(field))
				}
			default:
				checkRefusal(t, "member "+field+" "+text, r)
				if changed := diffDigest(before, ts.stateDigest()); len(changed) > 0 {
					t.Errorf("refused member %s %q changed %v", field, text, changed)
				}
			}
		}
		p := ts.do("POST", "/api/v1/partners", ts.HRToken, map[string]any{"name": text, "kind": "restaurant", "venue_name": text})
		if p.Status != 201 {
			t.Fatalf("partner named %q: %d %s", text, p.Status, p.Body)
		}
		if got := ts.must(ts.do("GET", "/api/v1/partners/"+p.Str("id"), ts.HRToken, nil), 200); got.Str("name") != text {
			t.Errorf("partner name %q stored as %q", text, got.Str("name"))
		}
		ts.runBad(t, badCase{name: "partner kind " + text, method: "POST", path: "/api/v1/partners", token: ts.HRToken, ctype: "application/json",
			body: mustJSON(map[string]any{"name": "x", "kind": text})})
		pk := ts.must(ts.do("POST", "/api/v1/partners/"+p.Str("id")+"/perks", ts.HRToken, map[string]any{
			"title": text, "description": text, "eligible_tiers": []string{"*"}, "companions": 1}), 201)
		if pk.Str("title") != text || pk.Str("description") != text {
			t.Errorf("perk stored %q / %q, want %q", pk.Str("title"), pk.Str("description"), text)
		}
		for _, field := range []string{"hours", "days", "eligible_tiers"} {
			in := map[string]any{"title": "t", "eligible_tiers": []string{"*"}, "companions": 1}
			in[field] = text
			if field != "hours" {
				in[field] = []string{text}
			}
			ts.runBad(t, badCase{name: "perk " + field + " " + text, method: "POST", path: "/api/v1/partners/" + p.Str("id") + "/perks",
				token: ts.HRToken, ctype: "application/json", body: mustJSON(in)})
		}
		ts.runBad(t, badCase{name: "revoke reason on a missing member " + text, method: "POST", path: "/api/v1/members/" + uuid.NewString() + "/revoke",
			token: ts.HRToken, ctype: "application/json", body: mustJSON(map[string]string{"reason": text})})
	}
	// Tables are all still there and hold what they did.
	for _, table := range []string{"members", "audit_log", "partners", "perks"} {
		if ts.count(table) == 0 {
			t.Errorf("table %s is empty", table)
		}
	}

	// Pages: a member, a partner and a perk named with script show escaped.
	script := hostileText[0]
	partner := ts.must(ts.do("POST", "/api/v1/partners", ts.HRToken, map[string]any{"name": script, "kind": "hotel"}), 201)
	perk := ts.must(ts.do("POST", "/api/v1/partners/"+partner.Str("id")+"/perks", ts.HRToken, map[string]any{
		"title": "=cmd|' /C calc'!A0", "description": script, "eligible_tiers": []string{"*"}, "companions": 2}), 201)
	key := ts.must(ts.do("POST", "/api/v1/partners/"+partner.Str("id")+"/keys", ts.HRToken, map[string]any{"name": script}), 201)
	m := ts.must(ts.do("POST", "/api/v1/members", ts.HRToken, map[string]any{"employee_no": "XSS1", "family_name": script,
		"given_name": "<b>太郎</b>", "email": "xss@example.com", "tier": "gold", "departed_on": "2024-03-31"}), 201)
	card := ts.must(ts.do("POST", "/api/v1/members/"+m.Str("id")+"/cards", ts.HRToken, nil), 201)
	page := func(path, cookie string) string {
		t.Helper()
		hdr := []string{"Accept", "text/html"}
		if cookie != "" {
			hdr = append(hdr, "Cookie", cookie)
		}
		r := ts.raw("GET", path, "", "", nil, hdr...)
		if r.Status != 200 {
			t.Fatalf("GET %s: %d %.300s", path, r.Status, r.Body)
		}
		return string(r.Body)
	}
	escapedOnly := func(where, body string) {
		t.Helper()
		for _, rawText := range append([]string{"<b>", "alert(\"xss\")</script>"}, hostileText...) {
			if !strings.ContainsAny(rawText, "<>") {
				continue
			}
			if strings.Contains(body, rawText) {
				t.Errorf("%s shows %q unescaped", where, rawText)
			}
		}
		if !strings.Contains(body, "&lt;script&gt;") {
			t.Errorf("%s does not show the name at all (escaped)", where)
		}
	}
	escapedOnly("enrolment page", page("/w/enroll/"+card.Str("enrollment_token"), ""))
	enr := ts.must(ts.do("POST", "/api/v1/wallet/enroll", "", map[string]any{"token": card.Str("enrollment_token"), "consent": true}), 201)
	wallet := page("/w", "ap_wallet="+enr.Str("wallet_token"))
	escapedOnly("wallet page", wallet)
	if !strings.Contains(wallet, `\u003cscript\u003e`) {
		t.Errorf("wallet page data does not carry the perk text JSON-escaped")
	}
	ts.Clock.Set(time.Time{})
	g := ts.must(ts.do("POST", "/api/v1/wallet/guest-passes", enr.Str("wallet_token"), map[string]any{
		"party_size": 1, "valid_until": time.Now().Add(24 * time.Hour).Format(time.RFC3339)}), 201)
	escapedOnly("guest pass page", page("/g/"+g.Str("id"), ""))

	// The partner's CSV report: a formula-looking title is neutralised.
	v := ts.verify(key.Str("key"), g.Str("code"))
	if v.Str("result") != "valid" {
		t.Fatalf("verify guest pass at the script partner: %s", v.Body)
	}
	ts.must(ts.do("POST", "/api/v1/redemptions", key.Str("key"), map[string]any{"verification_id": v.Str("verification_id"),
		"perk_id": perk.Str("id"), "party_size": 1}, "Idempotency-Key", uuid.NewString()), 201)
	csv := ts.must(ts.do("GET", "/api/v1/partners/"+partner.Str("id")+"/redemptions?format=csv", ts.HRToken, nil), 200)
	if !strings.Contains(string(csv.Body), "'=cmd|") || strings.Contains(string(csv.Body), ",=cmd|") {
		t.Errorf("CSV report does not defuse a formula: %s", csv.Body)
	}
	_ = f
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// controlCharacters: NUL and other control characters in stored text and
// in query parameters. PostgreSQL cannot store NUL; SQLite can. Either
// way the answer is a stored value or a 4xx, never a 5xx.
func controlCharacters(t *testing.T, ts *testServer, f *fixture) {
	for i, text := range []string{"a\x00b", "\x00", "a\x01\x02\x1f\x7fb", "a\u202eb", "a\ufeffb", "a\uffffb"} {
		for _, c := range []struct {
			path  string
			body  map[string]any
			field string
		}{
			{"/api/v1/members", map[string]any{"employee_no": fmt.Sprintf("CTL%d", i), "family_name": text, "given_name": "b",
				"email": "c@example.com", "tier": "gold", "departed_on": "2024-01-01"}, "family_name"},
			{"/api/v1/partners", map[string]any{"name": text, "kind": "store"}, "name"},
			{"/api/v1/partners/" + f.PartnerID + "/perks", map[string]any{"title": text, "eligible_tiers": []string{"*"}, "companions": 0}, "title"},
			{"/api/v1/partners/" + f.PartnerID + "/keys", map[string]any{"name": text}, "name"},
			{"/api/v1/members/" + uuid.NewString() + "/revoke", map[string]any{"reason": text}, ""},
		} {
			before := ts.stateDigest()
			r := ts.do("POST", c.path, ts.HRToken, c.body)
			switch {
			case r.Status == 201:
				if got := r.Str(c.field); got != text {
					t.Errorf("%s %q stored as %q", c.path, text, got)
				}
			default:
				checkRefusal(t, fmt.Sprintf("%s %q", c.path, text), r)
				if changed := diffDigest(before, ts.stateDigest()); len(changed) > 0 {
					t.Errorf("%s %q: answered %d but changed %v", c.path, text, r.Status, changed)
				}
			}
		}
	}
	for _, q := range []string{"q=a%00b", "cursor=%00", "tier=%00", "q=%FF%FE", "cursor=%C3%28"} {
		r := ts.raw("GET", "/api/v1/members?"+q, ts.HRToken, "", nil)
		if r.Status != 200 {
			checkRefusal(t, "members?"+q, r)
		}
	}
	for _, q := range []string{"target=%00", "actor=%00", "action=%00", "target_type=%FF", "cursor=%00"} {
		r := ts.raw("GET", "/api/v1/audit?"+q, ts.HRToken, "", nil)
		if r.Status != 200 {
			checkRefusal(t, "audit?"+q, r)
		}
	}
	r := ts.raw("GET", "/api/v1/partners/"+f.PartnerID+"/redemptions?since=%00", ts.HRToken, "", nil)
	checkRefusal(t, "redemptions since NUL", r)
}

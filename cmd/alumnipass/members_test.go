package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func (ts *testServer) count(table string) int {
	ts.t.Helper()
	var n int
	if err := ts.Store.DB().QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		ts.t.Fatal(err)
	}
	return n
}

func TestMemberAPI(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		in := map[string]any{"employee_no": "ＡＢ１２３", "family_name": "髙橋", "given_name": "﨑子", "family_name_kana": "ﾀｶﾊｼ",
			"email": "saki@example.com", "tier": "Gold", "departed_on": "2025-03-31"}
		m := ts.must(ts.do("POST", "/api/v1/members", ts.HRToken, in), 201)
		if m.Str("employee_no") != "AB123" || m.Str("tier") != "gold" || m.Str("family_name") != "髙橋" || m.Str("family_name_kana") != "タカハシ" || m.Str("status") != "active" {
			t.Fatalf("normalised member: %s", m.Body)
		}
		if r := ts.do("POST", "/api/v1/members", ts.HRToken, in); r.Status != 409 || r.Code() != "employee_no_taken" {
			t.Fatalf("duplicate: %d %s", r.Status, r.Body)
		}
		for field, bad := range map[string]any{"email": "not-an-address", "tier": "ゴールド", "departed_on": "31/03/2025", "employee_no": "", "locale": "fr"} {
			body := map[string]any{}
			for k, v := range in {
				body[k] = v
			}
			body["employee_no"] = "NEW1"
			body[field] = bad
			r := ts.do("POST", "/api/v1/members", ts.HRToken, body)
			if r.Status != 400 || r.JSON["error"].(map[string]any)["field"] != field {
				t.Fatalf("bad %s: %d %s", field, r.Status, r.Body)
			}
		}
		list := ts.must(ts.do("GET", "/api/v1/members?q=%E9%AB%99%E6%A9%8B&limit=10", ts.HRToken, nil), 200)
		if ms := list.JSON["members"].([]any); len(ms) != 1 {
			t.Fatalf("search by kanji: %s", list.Body)
		}
		got := ts.must(ts.do("GET", "/api/v1/members/"+m.Str("id"), ts.HRToken, nil), 200)
		if cards := got.JSON["cards"].([]any); len(cards) != 0 {
			t.Fatalf("new member has cards: %s", got.Body)
		}
		first := ts.must(ts.do("POST", "/api/v1/members/"+m.Str("id")+"/cards", ts.HRToken, nil), 201)
		if !strings.HasPrefix(first.Str("enrollment_url"), ts.URL+"/w/enroll/ape_") {
			t.Fatalf("enrolment url: %s", first.Body)
		}
		second := ts.must(ts.do("POST", "/api/v1/members/"+m.Str("id")+"/cards", ts.HRToken, nil), 201)
		if second.Str("replaced_card_id") != first.Str("card_id") {
			t.Fatalf("re-issue must replace the old card: %s", second.Body)
		}
		// The first card's enrolment link no longer works.
		if r := ts.do("POST", "/api/v1/wallet/enroll", "", map[string]any{"token": first.Str("enrollment_token"), "consent": true}); r.Status != 409 || r.Code() != "card_revoked" {
			t.Fatalf("old enrolment link: %d %s", r.Status, r.Body)
		}
		audit := ts.must(ts.do("GET", "/api/v1/audit?target="+m.Str("id"), ts.HRToken, nil), 200)
		var actions []string
		for _, e := range audit.JSON["entries"].([]any) {
			actions = append(actions, e.(map[string]any)["action"].(string))
		}
		if strings.Join(actions, ",") != "card.reissue,card.issue,member.create" {
			t.Fatalf("audit trail: %v", actions)
		}
	})
}

// TestImportAPI shows the import rules on both databases: Shift_JIS names
// outside JIS X 0208 round-trip exactly, one bad line imports nothing, a
// dry run writes nothing, and re-importing changes nothing.
func TestImportAPI(t *testing.T) {
	cp932, err := os.ReadFile("../../internal/csvimport/testdata/members_cp932.csv")
	if err != nil {
		t.Fatal(err)
	}
	eachDialect(t, func(t *testing.T, ts *testServer) {
		before := ts.count("members")
		dry := ts.must(ts.do("POST", "/api/v1/members/import?dry_run=1", ts.HRToken, cp932), 200)
		if dry.JSON["created"].(float64) != 4 || dry.JSON["applied"] != false || ts.count("members") != before {
			t.Fatalf("dry run: %s (members %d → %d)", dry.Body, before, ts.count("members"))
		}
		auditBefore := ts.count("audit_log")
		ts.must(ts.do("POST", "/api/v1/members/import", ts.HRToken, cp932), 200)
		if ts.count("members") != before+4 {
			t.Fatalf("import created %d members", ts.count("members")-before)
		}
		list := ts.must(ts.do("GET", "/api/v1/members?q=E000&limit=10", ts.HRToken, nil), 200)
		names := map[string]string{}
		for _, x := range list.JSON["members"].([]any) {
			m := x.(map[string]any)
			names[m["employee_no"].(string)] = m["family_name"].(string) + m["given_name"].(string) + "/" + m["family_name_kana"].(string)
		}
		for no, want := range map[string]string{"E0001": "髙橋一郎/タカハシ", "E0002": "山﨑花子/ヤマサキ", "E0003": "鈴木①㈱次郎/スズキ"} {
			if !strings.HasPrefix(names[no], strings.Split(want, "/")[0]) {
				t.Fatalf("%s: got %q, want %q", no, names[no], want)
			}
		}
		again := ts.must(ts.do("POST", "/api/v1/members/import", ts.HRToken, cp932), 200)
		if again.JSON["unchanged"].(float64) != 4 || again.JSON["created"].(float64) != 0 || again.JSON["updated"].(float64) != 0 {
			t.Fatalf("re-import: %s", again.Body)
		}
		auditAfterReimport := ts.count("audit_log")
		if auditAfterReimport != auditBefore+5 {
			t.Fatalf("audit entries: %d new, want 4 members + 1 import", auditAfterReimport-auditBefore)
		}

		var bad bytes.Buffer
		bad.WriteString("employee_no,family_name,given_name,email,tier,departed_on\r\n")
		for i := range 50 {
			email := fmt.Sprintf("n%d@example.com", i)
			if i == 30 {
				email = "broken"
			}
			fmt.Fprintf(&bad, "N%03d,佐藤,\"次郎, Jr.\",%s,standard,2024-01-%02d\r\n", i, email, i%28+1)
		}
		r := ts.do("POST", "/api/v1/members/import", ts.HRToken, bad.Bytes())
		if r.Status != 422 || r.Code() != "import_has_problems" {
			t.Fatalf("bad file: %d %s", r.Status, r.Body)
		}
		probs := r.JSON["report"].(map[string]any)["problems"].([]any)
		p := probs[0].(map[string]any)
		if len(probs) != 1 || p["line"].(float64) != 32 || p["column"] != "email" {
			t.Fatalf("want one problem at line 32, column email: %s", r.Body)
		}
		if ts.count("members") != before+4 || ts.count("audit_log") != auditAfterReimport {
			t.Fatal("a file with a bad line changed something")
		}
	})
}

// TestGuestPassRules covers the window and the monthly quota.
func TestGuestPassRules(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		f := ts.newFixture("standard")
		until := time.Now().Add(24 * time.Hour).Format(time.RFC3339)
		for _, tc := range []struct {
			body map[string]any
			code string
		}{
			{map[string]any{"party_size": 0, "valid_until": until}, "invalid_party_size"},
			{map[string]any{"party_size": 2}, "valid_until_required"},
			{map[string]any{"party_size": 2, "valid_until": time.Now().Add(-time.Hour).Format(time.RFC3339)}, "invalid_window"},
			{map[string]any{"party_size": 2, "valid_until": time.Now().Add(60 * 24 * time.Hour).Format(time.RFC3339)}, "window_too_long"},
			{map[string]any{"party_size": 2, "valid_until": "tomorrow"}, "invalid_time"},
		} {
			if r := ts.do("POST", "/api/v1/wallet/guest-passes", f.WalletToken, tc.body); r.Status != 400 || r.Code() != tc.code {
				t.Fatalf("%v: want 400 %s, got %d %s", tc.body, tc.code, r.Status, r.Body)
			}
		}
		// A pass valid from tomorrow is not valid yet; one past its window is expired.
		ts.Clock.Set(time.Now())
		from := time.Now().Add(2 * time.Hour)
		g := ts.must(ts.do("POST", "/api/v1/wallet/guest-passes", f.WalletToken, map[string]any{
			"party_size": 3, "valid_from": from.Format(time.RFC3339), "valid_until": from.Add(3 * time.Hour).Format(time.RFC3339)}), 201)
		if r := ts.verify(f.DeviceKey, g.Str("code")); r.Str("result") != "not_yet_valid" {
			t.Fatalf("before the window: %s", r.Body)
		}
		ts.Clock.Set(from.Add(4 * time.Hour))
		if r := ts.verify(f.DeviceKey, g.Str("code")); r.Str("result") != "expired" {
			t.Fatalf("after the window: %s", r.Body)
		}
		ts.Clock.Set(time.Time{})
		// The quota (10 a month by default) counts passes created this month.
		for i := 0; i < 9; i++ {
			ts.must(ts.do("POST", "/api/v1/wallet/guest-passes", f.WalletToken, map[string]any{"party_size": 1, "valid_until": until}), 201)
		}
		r := ts.do("POST", "/api/v1/wallet/guest-passes", f.WalletToken, map[string]any{"party_size": 1, "valid_until": until})
		if r.Status != 409 || r.Code() != "guest_quota_exceeded" || !strings.Contains(r.JSON["error"].(map[string]any)["message"].(string), "10") {
			t.Fatalf("quota: %d %s", r.Status, r.Body)
		}
		// Cancelling an unused pass gives its place back.
		ts.must(ts.do("POST", "/api/v1/wallet/guest-passes/"+g.Str("id")+"/cancel", f.WalletToken, nil), 200)
		ts.must(ts.do("POST", "/api/v1/wallet/guest-passes", f.WalletToken, map[string]any{"party_size": 1, "valid_until": until}), 201)
	})
}

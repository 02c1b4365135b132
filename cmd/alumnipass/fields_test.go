package main

import (
	"fmt"
	"testing"

	"github.com/alumnipass/alumnipass/internal/store"
)

// TestOneRulePerField: the API and the CSV import apply the same rule to a
// member's e-mail and language, so the same input is stored the same way
// (the domain lower-cased, ja-JP read as ja) whichever path HR takes.
func TestOneRulePerField(t *testing.T) {
	ts := startServer(t, store.SQLite)
	for i, tc := range []struct{ email, locale, wantEmail, wantLocale string }{
		{"Taro@Example.CO.JP", "ja-JP", "Taro@example.co.jp", "ja"},
		{"ｈａｎａ＠ｅｘａｍｐｌｅ．ｃｏｍ", "English", "hana@example.com", "en"},
		{"ken@example.com", "日本語", "ken@example.com", "ja"},
	} {
		api := ts.must(ts.do("POST", "/api/v1/members", ts.HRToken, map[string]any{
			"employee_no": fmt.Sprintf("F%d", i), "family_name": "山田", "given_name": "太郎", "email": tc.email,
			"tier": "gold", "departed_on": "2024-03-31", "locale": tc.locale}), 201)
		csv := fmt.Sprintf("employee_no,family_name,given_name,email,tier,departed_on,locale\nG%d,山田,太郎,%s,gold,2024-03-31,%s\n", i, tc.email, tc.locale)
		ts.must(ts.do("POST", "/api/v1/members/import", ts.HRToken, []byte(csv)), 200)
		imported := ts.must(ts.do("GET", fmt.Sprintf("/api/v1/members?q=G%d", i), ts.HRToken, nil), 200).JSON["members"].([]any)
		if len(imported) != 1 {
			t.Fatalf("imported member G%d not found", i)
		}
		im := imported[0].(map[string]any)
		if api.Str("email") != tc.wantEmail || im["email"] != tc.wantEmail || api.Str("locale") != tc.wantLocale || im["locale"] != tc.wantLocale {
			t.Errorf("%q/%q: API stored %q/%q, import %q/%q; want %q/%q", tc.email, tc.locale,
				api.Str("email"), api.Str("locale"), im["email"], im["locale"], tc.wantEmail, tc.wantLocale)
		}
	}
	for _, bad := range []map[string]any{{"email": "Taro <taro@example.com>"}, {"locale": "fr"}} {
		body := map[string]any{"employee_no": "FX", "family_name": "山田", "given_name": "太郎", "email": "x@example.com", "tier": "gold", "departed_on": "2024-03-31"}
		for k, v := range bad {
			body[k] = v
		}
		if r := ts.do("POST", "/api/v1/members", ts.HRToken, body); r.Status != 400 {
			t.Errorf("%v accepted: %d %s", bad, r.Status, r.Body)
		}
	}
}

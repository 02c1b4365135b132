package main

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/alumnipass/alumnipass/internal/store"
)

// TestNameRuleEveryPath sends the same hostile names through the API, the
// CSV import and the HR console: each path refuses them, with the same code
// where it reports one, and nothing is stored.
func TestNameRuleEveryPath(t *testing.T) {
	ts := startServer(t, store.SQLite)
	cc := ts.consoleAs("hr", "")
	cases := []struct{ name, value, code string }{
		{"NUL", "山\x00田", "invalid_character"},
		{"right-to-left override", "\u202Eabc", "invalid_character"},
		{"left-to-right isolate", "山\u2066田", "invalid_character"},
		{"only zero-width spaces", "\u200B\u200B", "invalid_character"},
		{"only zero-width joiners", "\u200D\u200C", "invisible_name"},
		{"only a Hangul filler", "\u3164", "invisible_name"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := ts.count("members")
			for _, field := range []string{"family_name", "given_name"} {
				in := map[string]any{"employee_no": fmt.Sprintf("N%02d", i), "family_name": "山田", "given_name": "花子",
					"email": "n@example.com", "tier": "gold", "departed_on": "2024-03-31"}
				in[field] = c.value
				r := ts.do("POST", "/api/v1/members", ts.HRToken, in)
				if r.Status != 400 || r.Code() != c.code {
					t.Errorf("API %s %+q: %d %s, want 400 %s", field, c.value, r.Status, r.Body, c.code)
				}

				csv := "employee_no,family_name,given_name,email,tier,departed_on\r\n" +
					fmt.Sprintf("N%02d,%s,%s,n@example.com,gold,2024-03-31\r\n", i, in["family_name"], in["given_name"])
				r = ts.do("POST", "/api/v1/members/import", ts.HRToken, []byte(csv))
				if r.Status != 422 || r.Code() != "import_has_problems" {
					t.Errorf("import %s %+q: %d %s, want 422 import_has_problems", field, c.value, r.Status, r.Body)
					continue
				}
				probs, _ := r.JSON["report"].(map[string]any)["problems"].([]any)
				if len(probs) != 1 || probs[0].(map[string]any)["code"] != c.code || probs[0].(map[string]any)["column"] != field {
					t.Errorf("import %s %+q: problems %v, want one %s in column %s", field, c.value, probs, c.code, field)
				}

				cc.get("/admin/members/new")
				form := url.Values{}
				for k, v := range in {
					form.Set(k, v.(string))
				}
				if p := cc.post("/admin/members", form); p.Status != 400 {
					t.Errorf("console %s %+q: %d, want 400: %.300s", field, c.value, p.Status, p.Body)
				}
			}
			if n := ts.count("members"); n != before {
				t.Errorf("%d members stored", n-before)
			}
		})
	}
}

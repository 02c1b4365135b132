package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// TestConsoleMemberEdit: HR edits a member in the console; a refused value
// shows the form again with the problem and changes nothing; a viewer can
// neither open the form nor post it; the change is audited.
func TestConsoleMemberEdit(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	m := ts.must(ts.do("POST", "/api/v1/members", ts.HRToken, map[string]any{"employee_no": "ED01", "family_name": "山田",
		"given_name": "太郎", "email": "taro@example.com", "tier": "standard", "departed_on": "2024-03-31"}), 201)
	id := m.Str("id")
	// A new form each time: the console client writes its CSRF token into the one it posts.
	form := func() url.Values {
		return url.Values{"family_name": {"山田"}, "given_name": {"太郎"}, "family_name_kana": {"やまだ"}, "email": {"taro@example.com"},
			"tier": {"gold"}, "departed_on": {"2024-03-31"}, "locale": {"en"}}
	}

	viewer := ts.consoleAs(model.RoleViewer, "")
	viewer.want(viewer.get("/admin/members/"+id+"/edit"), 403)
	viewer.want(viewer.post("/admin/members/"+id+"/edit", form()), 403)

	hr := ts.consoleAs(model.RoleHR, "")
	page := hr.want(hr.get("/admin/members/"+id), 200)
	if !strings.Contains(page.Body, `id="member-edit"`) {
		t.Fatal("the member page has no edit link for HR")
	}
	p := hr.want(hr.get("/admin/members/"+id+"/edit"), 200)
	if !strings.Contains(p.Body, `value="ED01" readonly`) || !strings.Contains(p.Body, `action="/admin/members/`+id+`/edit"`) {
		t.Fatalf("edit form: %.1500s", p.Body)
	}
	bad := form()
	bad.Set("email", "Taro <taro@example.com>")
	p = hr.do(mustPost(t, hr, "/admin/members/"+id+"/edit", bad))
	if p.Status < 400 || p.Status >= 500 || !strings.Contains(p.Body, `aria-invalid="true"`) {
		t.Fatalf("a refused e-mail: %d %.1500s", p.Status, p.Body)
	}
	if got := ts.must(ts.do("GET", "/api/v1/members/"+id, ts.HRToken, nil), 200); got.Str("tier") != "standard" {
		t.Fatalf("a refused edit changed the member: %s", got.Body)
	}

	hr.want(hr.post("/admin/members/"+id+"/edit", form()), 303, "/admin/members/"+id+"?msg=member_updated")
	got := ts.must(ts.do("GET", "/api/v1/members/"+id, ts.HRToken, nil), 200)
	if got.Str("tier") != "gold" || got.Str("locale") != "en" || got.Str("family_name_kana") != "ヤマダ" {
		t.Fatalf("after the edit: %s", got.Body)
	}
	audit := ts.must(ts.do("GET", "/api/v1/audit?target_id="+id, ts.HRToken, nil), 200)
	if !strings.Contains(string(audit.Body), `"member.update"`) || !strings.Contains(string(audit.Body), `standard`) {
		t.Fatalf("audit: %s", audit.Body)
	}
}

// mustPost builds the console's form POST (with its CSRF token) without
// checking the status, for answers that are refusals.
func mustPost(t *testing.T, cc *consoleClient, path string, form url.Values) *http.Request {
	t.Helper()
	form.Set("_csrf", cc.csrf)
	req, err := http.NewRequest("POST", cc.ts.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

package main

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// editDigest is what a refused console edit must leave alone: partners,
// venues, perks, keys, console users and the audit log.
func (ts *testServer) editDigest() map[string]string {
	ts.t.Helper()
	out := map[string]string{}
	for name, q := range map[string]string{
		"partners": "SELECT id, name, COALESCE(CAST(deactivated_at AS TEXT), '') FROM partners ORDER BY id",
		"venues":   "SELECT id, name, COALESCE(CAST(closed_at AS TEXT), '') FROM venues ORDER BY id",
		"perks": "SELECT id, title, description, title_en, description_en, eligible_tiers, companions, limit_per_day, limit_per_month, days, hours, active " +
			"FROM perks ORDER BY id",
		"keys":   "SELECT id, COALESCE(CAST(revoked_at AS TEXT), '') FROM api_keys ORDER BY id",
		"admins": "SELECT id, role, COALESCE(partner_id, ''), COALESCE(CAST(disabled_at AS TEXT), ''), password_hash FROM admins ORDER BY id",
		"audit":  "SELECT COUNT(*) FROM audit_log",
	} {
		out[name] = ts.tableDigest(q)
	}
	return out
}

// wantUnchanged fails when a digest moved.
func wantUnchanged(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for k, v := range before {
		if after[k] != v {
			t.Fatalf("%s changed %s", what, k)
		}
	}
}

// wantRefusedForm checks a form answered with a 4xx page that names the
// problem, in the page's language.
func wantRefusedForm(t *testing.T, p *consolePage, text string) {
	t.Helper()
	if p.Status < 400 || p.Status >= 500 || !strings.Contains(p.Body, `id="notice"`) || !strings.Contains(p.Body, text) {
		t.Fatalf("want a 4xx page saying %q, got %d: %.2000s", text, p.Status, p.Body)
	}
}

// auditHas reports whether the audit log has an entry of action about
// target whose before and after both contain the given texts.
func (ts *testServer) auditHas(action, target, before, after string) bool {
	ts.t.Helper()
	es, err := ts.Store.ListAudit(context.Background(), store.AuditFilter{TargetID: target, Limit: 200})
	if err != nil {
		ts.t.Fatal(err)
	}
	for _, e := range es {
		if e.Action == action && strings.Contains(e.Before, before) && strings.Contains(e.After, after) {
			return true
		}
	}
	return false
}

// TestConsolePartnerEdits: HR renames and deactivates a partner, closes and
// renames a venue, edits a perk; the partner's own manager edits its perks
// and venues but cannot rename or deactivate it; a viewer and another
// partner's manager change nothing; bad input shows the form again with
// the problem and changes nothing; every change is audited with before
// and after and reaches verify.
func TestConsolePartnerEdits(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		f := ts.newFixture("gold")
		other := ts.must(ts.do("POST", "/api/v1/partners", ts.HRToken, map[string]any{"name": "別の店", "kind": "hotel"}), 201)
		otherID := other.Str("id")
		base := "/admin/partners/" + f.PartnerID

		hr := ts.consoleAs(model.RoleHR, "")
		viewer := ts.consoleAs(model.RoleViewer, "")
		pm := ts.consoleAs(model.RolePartnerManager, f.PartnerID)
		stranger := ts.consoleAs(model.RolePartnerManager, otherID)

		page := hr.want(hr.get(base+"?lang=en"), 200)
		for _, want := range []string{`id="partner-settings"`, `action="` + base + `/rename"`, `1 active key stops now.`,
			`action="` + base + `/venues/` + f.VenueID + `/closed"`, `href="` + base + `/perks/` + f.PerkID + `/edit"`} {
			if !strings.Contains(page.Body, want) {
				t.Fatalf("HR's partner page lacks %s", want)
			}
		}
		own := pm.want(pm.get("/partner"), 200)
		if strings.Contains(own.Body, `id="partner-settings"`) || !strings.Contains(own.Body, `href="/partner/perks/`+f.PerkID+`/edit"`) {
			t.Fatal("the manager's page: no partner settings, but perk edit links")
		}

		// Refused: each leaves everything as it was.
		before := ts.editDigest()
		viewer.want(viewer.post(base+"/rename", url.Values{"name": {"x"}}), 403)
		viewer.want(viewer.post(base+"/active", url.Values{"active": {"0"}}), 403)
		viewer.want(viewer.get(base+"/perks/"+f.PerkID+"/edit"), 403)
		viewer.want(viewer.post(base+"/venues/"+f.VenueID+"/closed", url.Values{"closed": {"1"}}), 403)
		pm.want(pm.post(base+"/rename", url.Values{"name": {"x"}}), 403)   // the HR console is not theirs
		pm.want(pm.post(base+"/active", url.Values{"active": {"0"}}), 403) // nor is deactivating
		stranger.want(stranger.get(base+"/perks/"+f.PerkID+"/edit"), 403)
		stranger.want(stranger.get("/partner/perks/"+f.PerkID+"/edit"), 404)
		stranger.want(stranger.post("/partner/perks/"+f.PerkID+"/edit", url.Values{"title": {"盗"}, "companions": {"0"},
			"limit_per_day": {"0"}, "limit_per_month": {"0"}, "tiers": {"*"}, "active": {"1"}}), 404)
		stranger.want(stranger.post("/partner/venues/"+f.VenueID+"/closed", url.Values{"closed": {"1"}}), 404)
		stranger.want(stranger.post("/partner/venues/"+f.VenueID+"/rename", url.Values{"name": {"盗"}}), 404)
		noCSRF := url.Values{"name": {"x"}, "_csrf": {""}}
		hr.want(hr.post(base+"/rename", noCSRF), 403)
		wantRefusedForm(t, hr.post(base+"/rename?lang=en", url.Values{"name": {""}}), "Enter a name")
		wantRefusedForm(t, hr.post(base+"/venues/"+f.VenueID+"/rename?lang=en", url.Values{"name": {strings.Repeat("店", 101)}}), "Enter a name")
		wantRefusedForm(t, hr.post(base+"/venues/"+f.VenueID+"/closed?lang=en", url.Values{"closed": {"maybe"}}), "Choose to close or to reopen")
		perkForm := func() url.Values {
			return url.Values{"title": {"ランチ 10% 引き"}, "description": {"平日ランチ"}, "title_en": {"10% off lunch"}, "companions": {"2"},
				"limit_per_day": {"1"}, "limit_per_month": {"8"}, "tiers": {"gold"}, "days": {"mon", "fri"}, "hours": {"11:00-14:00"}, "active": {"1"}}
		}
		bad := perkForm()
		bad.Set("hours", "lunch time")
		p := pm.post("/partner/perks/"+f.PerkID+"/edit?lang=en", bad)
		wantRefusedForm(t, p, "Write the hours as 11:00-14:00")
		if !strings.Contains(p.Body, `value="lunch time" aria-invalid="true"`) || !strings.Contains(p.Body, `value="gold" checked`) {
			t.Fatalf("the refused perk form does not keep what was typed: %.3000s", p.Body)
		}
		bad = perkForm()
		bad.Set("companions", "two")
		wantRefusedForm(t, pm.post("/partner/perks/"+f.PerkID+"/edit?lang=en", bad), "Enter a whole number")
		bad = perkForm()
		bad.Set("days", "someday")
		wantRefusedForm(t, hr.post(base+"/perks/"+f.PerkID+"/edit?lang=en", bad), "Tick days of the week")
		wantUnchanged(t, "a refused edit", before, ts.editDigest())

		// The partner's manager edits its perk: every field, audited, and
		// the next scan offers it only to the tiers it names.
		form := pm.want(pm.get("/partner/perks/"+f.PerkID+"/edit"), 200)
		if !strings.Contains(form.Body, `id="perk-edit-form"`) || !strings.Contains(form.Body, `name="hours"`) || !strings.Contains(form.Body, `value="10% off"`) {
			t.Fatalf("perk edit form: %.2000s", form.Body)
		}
		pm.want(pm.post("/partner/perks/"+f.PerkID+"/edit", perkForm()), 303, "/partner?msg=perk_updated#perks")
		perks := ts.must(ts.do("GET", "/api/v1/partners/"+f.PartnerID+"/perks", ts.HRToken, nil), 200)
		got := perks.JSON["perks"].([]any)[0].(map[string]any)
		if got["title"] != "ランチ 10% 引き" || got["title_en"] != "10% off lunch" || got["companions"] != 2.0 || got["limit_per_month"] != 8.0 ||
			got["hours"] != "11:00-14:00" || len(got["days"].([]any)) != 2 || got["eligible_tiers"].([]any)[0] != "gold" || got["active"] != true {
			t.Fatalf("perk after the edit: %v", got)
		}
		if !ts.auditHas("perk.update", f.PartnerID, `"10% off"`, `ランチ 10% 引き`) {
			t.Fatal("no perk.update audit entry with before and after")
		}
		// Switched off by HR: the perk is no longer offered.
		off := perkForm()
		off.Del("active")
		hr.want(hr.post(base+"/perks/"+f.PerkID+"/edit", off), 303, base+"?msg=perk_updated#perks")
		if ts.must(ts.do("GET", "/api/v1/partners/"+f.PartnerID+"/perks", ts.HRToken, nil), 200).JSON["perks"].([]any)[0].(map[string]any)["active"] != false {
			t.Fatal("unticking active did not switch the perk off")
		}

		// Venues: rename, close (its devices stop), reopen.
		pm.want(pm.post("/partner/venues/"+f.VenueID+"/rename", url.Values{"name": {"銀座店"}}), 303, "/partner?msg=venue_renamed")
		if !ts.auditHas("venue.update", f.PartnerID, `"closed":false`, `銀座店`) {
			t.Fatal("no venue.update audit entry for the rename")
		}
		hr.want(hr.post(base+"/venues/"+f.VenueID+"/closed", url.Values{"closed": {"1"}}), 303, base+"?msg=venue_closed")
		if r := ts.do("POST", "/api/v1/verify", f.DeviceKey, map[string]string{"code": f.cardCode(t, ts.Clock.Now())}); r.Status != 401 {
			t.Fatalf("a closed venue's device was answered: %d %s", r.Status, r.Body)
		}
		if page := hr.want(hr.get(base+"?lang=en"), 200); !strings.Contains(page.Body, "銀座店 <span class=\"badge badge-bad\">closed</span>") {
			t.Fatalf("the closed venue is not shown as closed: %.3000s", page.Body)
		}
		hr.want(hr.post(base+"/venues/"+f.VenueID+"/closed", url.Values{"closed": {"0"}}), 303, base+"?msg=venue_reopened")

		// The partner: renamed, then deactivated; every key stops.
		key := ts.must(ts.do("POST", "/api/v1/partners/"+f.PartnerID+"/keys", ts.HRToken, map[string]any{"name": "レジ"}), 201).Str("key")
		if r := ts.verify(key, f.cardCode(t, ts.Clock.Now())); r.Status != 200 {
			t.Fatalf("the new key before deactivation: %d %s", r.Status, r.Body)
		}
		hr.want(hr.post(base+"/rename", url.Values{"name": {"さくら食堂"}}), 303, base+"?msg=partner_renamed")
		hr.want(hr.post(base+"/active", url.Values{"active": {"0"}}), 303, base+"?msg=partner_deactivated")
		if r := ts.do("POST", "/api/v1/verify", key, map[string]string{"code": f.cardCode(t, ts.Clock.Now())}); r.Status != 401 {
			t.Fatalf("a deactivated partner's key was answered: %d %s", r.Status, r.Body)
		}
		if !ts.auditHas("partner.update", f.PartnerID, `"active":true`, `"revoked_keys":1`) || !ts.auditHas("partner.update", f.PartnerID, `"name"`, `さくら食堂`) {
			t.Fatal("no partner.update audit entries with before and after")
		}
		page = hr.want(hr.get(base+"?lang=en"), 200)
		if !strings.Contains(page.Body, `id="partner-inactive"`) || !strings.Contains(page.Body, `id="partner-reactivate"`) {
			t.Fatal("a deactivated partner's page does not say so")
		}
		hr.want(hr.post(base+"/active", url.Values{"active": {"1"}}), 303, base+"?msg=partner_reactivated")
	})
}

// TestConsoleUserEdits: only an admin changes console users; the last
// admin cannot be demoted or disabled; a disabled user is signed out; a
// reset password is shown once and works; a reset second factor sends the
// user to set up a new one; every change is audited.
func TestConsoleUserEdits(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		ctx := context.Background()
		idOf := func(email string) string {
			a, err := ts.App.svc.Console.AdminByEmail(ctx, email)
			if err != nil {
				t.Fatal(err)
			}
			return a.ID
		}
		adminEmail, adminPW := ts.newConsoleUser(model.RoleAdmin, "")
		admin := ts.newConsoleClient()
		admin.signIn(adminEmail, adminPW, "")
		adminID := idOf(adminEmail)
		hrEmail, hrPW := ts.newConsoleUser(model.RoleHR, "")
		hr := ts.newConsoleClient()
		hrSecret := hr.signIn(hrEmail, hrPW, "")
		hrID := idOf(hrEmail)
		viewer := ts.consoleAs(model.RoleViewer, "")

		page := admin.want(admin.get("/admin/users?lang=en"), 200)
		if !strings.Contains(page.Body, `action="/admin/users/`+hrID+`/role"`) || !strings.Contains(page.Body, `action="/admin/users/`+hrID+`/reset-password"`) {
			t.Fatal("the users page has no edit forms")
		}
		before := ts.editDigest()
		hr.want(hr.get("/admin/users"), 403)
		hr.want(hr.post("/admin/users/"+adminID+"/role", url.Values{"role": {model.RoleViewer}}), 403)
		hr.want(hr.post("/admin/users/"+adminID+"/reset-password", nil), 403)
		viewer.want(viewer.post("/admin/users/"+hrID+"/active", url.Values{"active": {"0"}}), 403)
		admin.want(admin.post("/admin/users/"+hrID+"/active", url.Values{"active": {"0"}, "_csrf": {""}}), 403)
		// The last admin: neither demoted nor disabled, with a clear message.
		wantRefusedForm(t, admin.post("/admin/users/"+adminID+"/role?lang=en", url.Values{"role": {model.RoleHR}}), "This is the last active administrator")
		wantRefusedForm(t, admin.post("/admin/users/"+adminID+"/active?lang=en", url.Values{"active": {"0"}}), "This is the last active administrator")
		wantRefusedForm(t, admin.post("/admin/users/"+hrID+"/role?lang=en", url.Values{"role": {model.RolePartnerManager}}), "Choose the partner this manager belongs to")
		wantRefusedForm(t, admin.post("/admin/users/"+hrID+"/role?lang=en", url.Values{"role": {"owner"}}), "Choose a role")
		admin.want(admin.post("/admin/users/00000000-0000-0000-0000-000000000000/reset-second-factor", nil), 404)
		wantUnchanged(t, "a refused user edit", before, ts.editDigest())

		// A role change applies at the user's next request.
		admin.want(admin.post("/admin/users/"+hrID+"/role", url.Values{"role": {model.RoleViewer}}), 303, "/admin/users?msg=user_role_changed")
		if !ts.auditHas("admin.update", hrID, `"role":"hr"`, `"role":"viewer"`) {
			t.Fatal("no admin.update audit entry with before and after")
		}
		hr.want(hr.post("/admin/members", url.Values{"employee_no": {"X1"}}), 403)
		admin.want(admin.post("/admin/users/"+hrID+"/role", url.Values{"role": {model.RoleHR}}), 303)

		// A new password: shown once, works, and the old one does not.
		p := admin.want(admin.post("/admin/users/"+hrID+"/reset-password", nil), 200)
		pw := regexpFind(t, p.Body, `<code id="new-password">([A-Z2-7]{26})</code>`)
		if p.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("the new password page may be cached: %q", p.Header.Get("Cache-Control"))
		}
		if again := admin.want(admin.get("/admin/users"), 200); strings.Contains(again.Body, pw) {
			t.Fatal("the new password is shown again")
		}
		hr.want(hr.get("/admin"), 303, "/admin/login") // signed out
		stale := ts.newConsoleClient()
		stale.want(stale.get("/admin/login"), 200)
		stale.want(stale.post("/admin/login", url.Values{"email": {hrEmail}, "password": {hrPW}}), 401)
		hr = ts.newConsoleClient()
		hr.signIn(hrEmail, pw, hrSecret)

		// A reset second factor: signed out, and set up again at sign-in.
		admin.want(admin.post("/admin/users/"+hrID+"/reset-second-factor", nil), 303, "/admin/users?msg=user_totp_reset")
		hr.want(hr.get("/admin"), 303, "/admin/login")
		hr = ts.newConsoleClient()
		hr.signIn(hrEmail, pw, "") // wants the setup page again

		// Disabled: signed out at once; enabled again.
		admin.want(admin.post("/admin/users/"+hrID+"/active", url.Values{"active": {"0"}}), 303, "/admin/users?msg=user_disabled")
		hr.want(hr.get("/admin"), 303, "/admin/login")
		if page := admin.want(admin.get("/admin/users?lang=en"), 200); !strings.Contains(page.Body, `action="/admin/users/`+hrID+`/active"`) ||
			!strings.Contains(page.Body, "Enable") {
			t.Fatal("a disabled user cannot be enabled from the page")
		}
		admin.want(admin.post("/admin/users/"+hrID+"/active", url.Values{"active": {"1"}}), 303, "/admin/users?msg=user_enabled")
		for _, action := range []string{"admin.reset_password", "admin.reset_totp"} {
			if !ts.auditHas(action, hrID, "", "") {
				t.Fatalf("no %s audit entry", action)
			}
		}
	})
}

// walletPerks reads the perk directory from the wallet page's data, and
// the page's HTML, in a language.
func walletPerks(t *testing.T, ts *testServer, walletToken, lang string) ([]map[string]any, string) {
	t.Helper()
	req, err := http.NewRequest("GET", ts.URL+"/w?lang="+lang, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: "ap_wallet", Value: walletToken})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /w: %d", resp.StatusCode)
	}
	raw := regexpFind(t, string(body), `(?s)<script type="application/json" id="page-data">(.*?)</script>`)
	var data struct {
		Perks []map[string]any `json:"perks"`
	}
	if err := json.Unmarshal([]byte(raw), &data); err != nil {
		t.Fatal(err)
	}
	return data.Perks, string(body)
}

// TestWalletPerkDirectory: the wallet lists each perk with its partner,
// the partner's open venues (not a closed one), what it is, when it applies
// (days and hours) and for whom (tiers, companions, limits), in Japanese
// and English; a perk switched off or of another tier is not listed.
func TestWalletPerkDirectory(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		f := ts.newFixture("gold")
		ts.must(ts.do("PATCH", "/api/v1/partners/"+f.PartnerID+"/perks/"+f.PerkID, ts.HRToken, map[string]any{
			"eligible_tiers": []string{"gold"}, "days": []string{"fri", "mon"}, "hours": "11:00-14:00", "limit_per_month": 4, "title_en": "10% off lunch"}), 200)
		ts.must(ts.do("POST", "/api/v1/partners/"+f.PartnerID+"/venues", ts.HRToken, map[string]any{"name": "銀座店"}), 201)
		closed := ts.must(ts.do("POST", "/api/v1/partners/"+f.PartnerID+"/venues", ts.HRToken, map[string]any{"name": "閉店した店"}), 201).Str("id")
		ts.must(ts.do("PATCH", "/api/v1/partners/"+f.PartnerID+"/venues/"+closed, ts.HRToken, map[string]any{"closed": true}), 200)
		off := ts.must(ts.do("POST", "/api/v1/partners/"+f.PartnerID+"/perks", ts.HRToken, map[string]any{"title": "休止中の特典", "eligible_tiers": []string{"*"}}), 201).Str("id")
		ts.must(ts.do("PATCH", "/api/v1/partners/"+f.PartnerID+"/perks/"+off, ts.HRToken, map[string]any{"active": false}), 200)
		ts.must(ts.do("POST", "/api/v1/partners/"+f.PartnerID+"/perks", ts.HRToken, map[string]any{"title": "一般会員のみ", "eligible_tiers": []string{"standard"}}), 201)

		for _, c := range []struct{ lang, title, when, tiers, limits, companions string }{
			{"en", "10% off lunch", "Mon, Fri · 11:00-14:00", "Members of tier gold", "up to 5 a day · up to 4 a month", "Covers up to 3 companions"},
			{"ja", "10% off", "月・金 · 11:00-14:00", "gold 区分の会員", "1日5回まで · 1か月4回まで", "同伴者3名様まで対象"},
		} {
			perks, page := walletPerks(t, ts, f.WalletToken, c.lang)
			if len(perks) != 1 {
				t.Fatalf("%s: the directory lists %d perks, want only the active gold one: %v", c.lang, len(perks), perks)
			}
			p := perks[0]
			venue, _ := p["venue"].(string)
			if p["title"] != c.title || p["when"] != c.when || p["tiers"] != c.tiers || p["limits"] != c.limits ||
				!strings.Contains(venue, "銀座店") || strings.Contains(venue, "閉店") {
				t.Fatalf("%s: perk %v", c.lang, p)
			}
			for _, want := range []string{`<dd class="perk-when">` + c.when + `</dd>`, `<dd class="perk-venues">` + venue + `</dd>`, c.companions, c.tiers} {
				if !strings.Contains(html.UnescapeString(page), want) {
					t.Fatalf("%s: the wallet page lacks %q", c.lang, want)
				}
			}
		}
	})
}

package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/members"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// TestConsoleSignIn: a wrong password is refused; before the second factor
// nothing of the console is reachable; the session cookie is locked down;
// the second sign-in asks for the code instead of a new setup.
func TestConsoleSignIn(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, ts *testServer) {
		email, pw := ts.newConsoleUser(model.RoleHR, "")
		cc := ts.newConsoleClient()

		// Anonymous: every console page sends to the sign-in; a POST is refused.
		cc.want(cc.get("/admin"), 303, "/admin/login")
		cc.want(cc.get("/admin/members"), 303, "/admin/login")
		cc.want(cc.get("/partner"), 303, "/admin/login")
		cc.want(cc.post("/admin/members", url.Values{"employee_no": {"X1"}}), 401)

		cc.want(cc.get("/admin/login"), 200)
		p := cc.want(cc.post("/admin/login", url.Values{"email": {email}, "password": {"wrong password!"}}), 401)
		if !strings.Contains(p.Body, `id="login-error"`) || strings.Contains(strings.Join(p.Header.Values("Set-Cookie"), ";"), "ap_session=aps_") {
			t.Fatalf("wrong password: %s", p.Body)
		}
		cc.want(cc.get("/admin"), 303, "/admin/login")

		// Login CSRF: the sign-in form wants its token.
		cc.want(cc.post("/admin/login", url.Values{"email": {email}, "password": {pw}, "_csrf": {""}}), 403)

		p = cc.want(cc.post("/admin/login", url.Values{"email": {email}, "password": {pw}}), 303, "/admin/2fa/setup")
		cookie := strings.Join(p.Header.Values("Set-Cookie"), "; ")
		for _, attr := range []string{"ap_session=aps_", "HttpOnly", "SameSite=Strict", "path=/"} {
			if !strings.Contains(cookie, attr) {
				t.Errorf("session cookie lacks %s: %s", attr, cookie)
			}
		}
		// Password done, second factor not: still nothing.
		for _, path := range []string{"/admin", "/admin/members", "/admin/audit", "/admin/import", "/partner"} {
			cc.want(cc.get(path), 303, "/admin/2fa/setup")
		}
		setup := cc.want(cc.get("/admin/2fa/setup"), 200)
		secret := cc.totpSecret(setup)
		if !strings.Contains(setup.Body, `src="data:image/png;base64,`) {
			t.Error("the setup page has no QR image")
		}
		// The secret stays the same on reload until it is confirmed.
		if again := cc.totpSecret(cc.get("/admin/2fa/setup")); again != secret {
			t.Error("the TOTP secret changed on reload")
		}
		cc.want(cc.post("/admin/members", url.Values{"employee_no": {"X1"}}), 401)
		cc.want(cc.post("/admin/2fa/setup", url.Values{"code": {"000000"}}), 401)
		cc.want(cc.get("/admin"), 303, "/admin/2fa/setup")
		cc.want(cc.post("/admin/2fa/setup", url.Values{"code": {cc.totpCode(secret)}}), 303, "/admin")
		home := cc.want(cc.get("/admin"), 200)
		if !strings.Contains(home.Body, "会員") {
			t.Errorf("dashboard: %.300s", home.Body)
		}
		// A second factor page after it is done goes home.
		cc.want(cc.get("/admin/2fa/setup"), 303, "/admin")

		// Sign out ends the session.
		cc.want(cc.post("/admin/logout", nil), 303, "/admin/login?msg=signed_out")
		cc.want(cc.get("/admin"), 303, "/admin/login")

		// The second sign-in asks for the code of the app set up before.
		cc.signIn(email, pw, secret)
		es, err := ts.App.svc.Members.Audit(context.Background(), members.AuditFilter{Action: "admin.totp_enrolled"})
		if err != nil || len(es) != 1 {
			t.Errorf("totp enrolment audit: %v %v", es, err)
		}
	})
}

// TestConsoleSignInThrottled: after five wrong passwords for an e-mail
// from one address the sign-in answers 429 there, even with the right
// password (TestConsoleSignInThrottlePerAddress: not from elsewhere).
func TestConsoleSignInThrottled(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	ts.Clock.Set(time.Now())
	email, pw := ts.newConsoleUser(model.RoleHR, "")
	cc := ts.newConsoleClient()
	cc.want(cc.get("/admin/login"), 200)
	for i := 0; i < 5; i++ {
		cc.want(cc.post("/admin/login", url.Values{"email": {email}, "password": {"not the password"}}), 401)
	}
	p := cc.want(cc.post("/admin/login", url.Values{"email": {email}, "password": {pw}}), 429)
	if p.Header.Get("Retry-After") == "" || !strings.Contains(p.Body, "分後") {
		t.Errorf("429 page: %v %.300s", p.Header, p.Body)
	}
}

// TestConsoleCSRF: a console POST without the session's token is refused
// with a 403 page and changes nothing.
func TestConsoleCSRF(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, ts *testServer) {
		cc := ts.consoleAs(model.RoleHR, "")
		f := ts.newFixture("gold")
		before := ts.count("members")
		form := url.Values{"employee_no": {"C0001"}, "family_name": {"佐藤"}, "given_name": {"花子"}, "email": {"hanako@example.com"},
			"tier": {"standard"}, "departed_on": {"2025-03-31"}}
		for _, tok := range []string{"", "not-the-token"} {
			f2 := url.Values{}
			for k, v := range form {
				f2[k] = v
			}
			f2.Set("_csrf", tok)
			p := cc.want(cc.post("/admin/members", f2), 403)
			if !strings.Contains(p.Body, "有効期限が切れました") {
				t.Errorf("CSRF page does not explain: %.400s", p.Body)
			}
			cc.want(cc.post("/admin/members/"+f.MemberID+"/revoke", url.Values{"reason": {"x"}, "_csrf": {tok}}), 403)
		}
		if n := ts.count("members"); n != before {
			t.Fatalf("members %d → %d after refused POSTs", before, n)
		}
		if st := ts.memberStatus(f.MemberID); st != model.MemberActive {
			t.Fatalf("member is %s after a refused revoke", st)
		}
		// With the token the same form works.
		p := cc.want(cc.post("/admin/members", form), 303)
		if !strings.HasPrefix(p.Location, "/admin/members/") {
			t.Fatalf("created → %q", p.Location)
		}
		if n := ts.count("members"); n != before+1 {
			t.Fatalf("members %d → %d", before, n)
		}
	})
}

// TestConsoleViewerReadOnly: a viewer sees the console without action
// buttons, and its POSTs are refused.
func TestConsoleViewerReadOnly(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, ts *testServer) {
		f := ts.newFixture("gold")
		cc := ts.consoleAs(model.RoleViewer, "")
		for _, path := range []string{"/admin", "/admin/members", "/admin/members/" + f.MemberID, "/admin/partners",
			"/admin/partners/" + f.PartnerID, "/admin/reports", "/admin/audit"} {
			p := cc.want(cc.get(path), 200)
			for _, action := range []string{`id="revoke-open"`, `id="issue-card"`, `action="/admin/partners/` + f.PartnerID + `/keys"`, `id="new-member"`} {
				if strings.Contains(p.Body, action) {
					t.Errorf("%s shows %s to a viewer", path, action)
				}
			}
		}
		cc.want(cc.get("/admin/members/new"), 403)
		cc.want(cc.get("/admin/import"), 403)
		cc.want(cc.get("/admin/users"), 403)
		cc.want(cc.post("/admin/members/"+f.MemberID+"/revoke", url.Values{"reason": {"viewer"}}), 403)
		cc.want(cc.post("/admin/members/"+f.MemberID+"/cards", nil), 403)
		cc.want(cc.post("/admin/partners/"+f.PartnerID+"/keys", url.Values{"name": {"x"}}), 403)
		if st := ts.memberStatus(f.MemberID); st != model.MemberActive {
			t.Fatalf("a viewer changed the member to %s", st)
		}
		// Sign-out is not a change: a viewer may do it.
		cc.want(cc.post("/admin/logout", nil), 303)
	})
}

// TestConsolePartnerScoping: a partner manager lands on /partner and sees
// only its own partner, never members' personal data; the HR console and
// other partners' things are out of its reach, and HR cannot use /partner.
func TestConsolePartnerScoping(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, ts *testServer) {
		a := ts.newFixture("gold")
		b := ts.newFixture("gold")
		// A redemption at B, so that B's report has a line.
		v := ts.must(ts.verify(b.DeviceKey, b.cardCode(t, ts.Clock.Now())), 200)
		ts.must(ts.do("POST", "/api/v1/redemptions", b.DeviceKey, map[string]any{"verification_id": v.Str("verification_id"),
			"perk_id": b.PerkID, "party_size": 2}, "Idempotency-Key", "console-scoping-1"), 201)

		pm := ts.consoleAs(model.RolePartnerManager, b.PartnerID)
		home := pm.want(pm.get("/partner"), 200)
		aName := ts.must(ts.do("GET", "/api/v1/partners/"+a.PartnerID, ts.HRToken, nil), 200).Str("name")
		bName := ts.must(ts.do("GET", "/api/v1/partners/"+b.PartnerID, ts.HRToken, nil), 200).Str("name")
		if !strings.Contains(home.Body, bName) || strings.Contains(home.Body, aName) {
			t.Fatalf("partner page shows the wrong partner (want %q, not %q)", bName, aName)
		}
		member := ts.must(ts.do("GET", "/api/v1/members/"+b.MemberID, ts.HRToken, nil), 200)
		for _, pii := range []string{member.Str("email"), member.Str("employee_no"), "山田 太郎", "山田太郎"} {
			if strings.Contains(home.Body, pii) {
				t.Errorf("the partner page shows %q", pii)
			}
		}
		if !strings.Contains(home.Body, "m_") {
			t.Error("the partner report has no pseudonymous line")
		}
		csv := pm.want(pm.get("/partner/report.csv"), 200)
		if !strings.HasPrefix(csv.Body, "\ufeff") || !strings.Contains(csv.Body, "\r\n") || strings.Contains(csv.Body, member.Str("email")) {
			t.Errorf("partner CSV: %q", csv.Body)
		}

		pm.want(pm.get("/admin"), 403)
		pm.want(pm.get("/admin/partners/"+a.PartnerID), 403)
		pm.want(pm.get("/admin/members/"+a.MemberID), 403)
		// Another partner's key, named through the partner's own routes.
		keys := ts.must(ts.do("GET", "/api/v1/partners/"+a.PartnerID+"/keys", ts.HRToken, nil), 200)
		aKey := keys.JSON["keys"].([]any)[0].(map[string]any)["id"].(string)
		pm.want(pm.post("/partner/keys/"+aKey+"/revoke", nil), 404)
		if r := ts.verify(a.DeviceKey, a.cardCode(t, ts.Clock.Now())); r.Status != 200 {
			t.Fatalf("partner A's device stopped working: %d %s", r.Status, r.Body)
		}
		// A venue named from another partner is not accepted.
		pm.want(pm.post("/partner/keys", url.Values{"name": {"sneaky"}, "venue_id": {a.VenueID}}), 400)
		// Its own things work.
		p := pm.want(pm.post("/partner/keys", url.Values{"name": {"counter 2"}, "venue_id": {b.VenueID}}), 200)
		if !strings.Contains(p.Body, `id="new-key"`) || !strings.Contains(p.Body, "apd_") {
			t.Fatalf("new key page: %.400s", p.Body)
		}
		p = pm.want(pm.post("/partner/pairing", url.Values{"venue_id": {b.VenueID}}), 200)
		if !strings.Contains(p.Body, `id="pairing-code"`) || !strings.Contains(p.Body, "data:image/png;base64,") {
			t.Fatalf("pairing page: %.400s", p.Body)
		}
		pm.want(pm.post("/partner/perks", url.Values{"title": {"デザート"}, "tiers": {"*"}, "companions": {"1"}, "limit_per_day": {"1"}}), 303, "/partner?msg=perk_created")

		hr := ts.consoleAs(model.RoleHR, "")
		hr.want(hr.get("/partner"), 403)
	})
}

// TestConsoleImportPreviewWritesNothing: the preview is a dry run; only
// "Import" on the same file writes, and a file with a problem never does.
func TestConsoleImportPreviewWritesNothing(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, ts *testServer) {
		cc := ts.consoleAs(model.RoleHR, "")
		cc.want(cc.get("/admin/import"), 200)
		good := "社員番号,姓,名,メールアドレス,区分,退職日\nI0001,鈴木,一郎,ichiro@example.com,standard,2024-03-31\nI0002,田中,次郎,jiro@example.com,gold,2024/4/30\n"
		before := ts.count("members")
		auditBefore := ts.count("audit_log")
		p := cc.want(cc.upload("/admin/import", "file", "members.csv", []byte(good), url.Values{"encoding": {"auto"}}), 200)
		if !strings.Contains(p.Body, `id="n-create">2<`) || !strings.Contains(p.Body, `id="import-apply"`) {
			t.Fatalf("preview: %.2000s", p.Body)
		}
		if ts.count("members") != before || ts.count("audit_log") != auditBefore {
			t.Fatal("the preview wrote to the database")
		}
		hash := regexpFind(t, p.Body, `name="hash" value="([0-9a-f]{64})"`)
		if n := ts.count("import_uploads"); n != 1 {
			t.Fatalf("the upload is not kept in the database: %d rows", n)
		}

		bad := good + "I0003,佐藤,,sato@example.com,standard,2024-03-31\n"
		p = cc.want(cc.upload("/admin/import", "file", "bad.csv", []byte(bad), nil), 422)
		if !strings.Contains(p.Body, `id="problems"`) || strings.Contains(p.Body, `id="import-apply"`) {
			t.Fatalf("problem preview: %.2000s", p.Body)
		}
		if !strings.Contains(p.Body, `<td class="num">4</td><td><code>名</code></td>`) {
			t.Errorf("the problem is not on line 4, column 名: %.3000s", p.Body)
		}
		if ts.count("members") != before {
			t.Fatal("a file with problems wrote members")
		}
		// Applying a hash that was never uploaded does nothing.
		cc.want(cc.post("/admin/import/apply", url.Values{"hash": {strings.Repeat("0", 64)}}), 410)

		p = cc.want(cc.post("/admin/import/apply", url.Values{"hash": {hash}, "encoding": {"auto"}}), 200)
		if !strings.Contains(p.Body, "取り込みが完了しました") {
			t.Fatalf("apply: %.1000s", p.Body)
		}
		if n := ts.count("members"); n != before+2 {
			t.Fatalf("members %d → %d", before, n)
		}
		// The kept file is used up.
		cc.want(cc.post("/admin/import/apply", url.Values{"hash": {hash}}), 410)
	})
}

// TestConsoleImportAppliesOnAnotherInstance: behind a load balancer the
// preview and the "Import" click may reach different instances; the kept
// file is in the database, so the second instance applies it. Another
// admin cannot apply it.
func TestConsoleImportAppliesOnAnotherInstance(t *testing.T) {
	t.Parallel()
	u := storetest.NewPostgresDB(t)
	key := strings.Repeat("4c", 32)
	a := startServerOn(t, openTestStore(t, u, 8), key)
	b := startServerOn(t, openTestStore(t, u, 8), key)
	ca := a.consoleAs(model.RoleHR, "")
	csv := "社員番号,姓,名,メールアドレス,区分,退職日\nLB001,鈴木,一郎,lb1@example.com,standard,2024-03-31\n"
	p := ca.want(ca.upload("/admin/import", "file", "members.csv", []byte(csv), url.Values{"encoding": {"auto"}}), 200)
	hash := regexpFind(t, p.Body, `name="hash" value="([0-9a-f]{64})"`)

	other := b.consoleAs(model.RoleHR, "")
	other.want(other.post("/admin/import/apply", url.Values{"hash": {hash}, "encoding": {"auto"}}), 410)
	if n := a.count("members"); n != 0 {
		t.Fatalf("another admin applied the upload: %d members", n)
	}

	cb := *ca // the same browser session, now routed to instance B
	cb.ts = b
	p = cb.want(cb.post("/admin/import/apply", url.Values{"hash": {hash}, "encoding": {"auto"}}), 200)
	if !strings.Contains(p.Body, "取り込みが完了しました") {
		t.Fatalf("apply on instance B: %.1000s", p.Body)
	}
	if n := a.count("members"); n != 1 {
		t.Fatalf("members after apply on B: %d", n)
	}
	// Applied once: the kept file is gone on every instance.
	ca.want(ca.post("/admin/import/apply", url.Values{"hash": {hash}, "encoding": {"auto"}}), 410)
}

// TestConsoleIssueLetterAndMail: issuing a card shows the link once; the
// letter is printed in the member's language; the e-mail lands in the
// outbox and is audited.
func TestConsoleIssueLetterAndMail(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	cc := ts.consoleAs(model.RoleHR, "")
	m := ts.must(ts.do("POST", "/api/v1/members", ts.HRToken, map[string]any{"employee_no": "L0001", "family_name": "Smith",
		"given_name": "Alex", "email": "alex@example.com", "tier": "standard", "departed_on": "2023-12-31", "locale": "en"}), 201)
	id := m.Str("id")
	detail := cc.want(cc.get("/admin/members/"+id), 200)
	if !strings.Contains(detail.Body, "Smith Alex") {
		t.Errorf("Japanese page shows the name family-first: %.300s", detail.Body)
	}
	if en := cc.want(cc.get("/admin/members/"+id+"?lang=en"), 200); !strings.Contains(en.Body, "Alex Smith") {
		t.Error("English page does not show the name given-first")
	}
	cc.get("/admin/members/" + id + "?lang=ja")
	p := cc.want(cc.post("/admin/members/"+id+"/cards", nil), 200)
	token := regexpFind(t, p.Body, `name="token" value="(ape_[a-z0-9]+)"`)
	if !strings.Contains(p.Body, "/w/enroll/"+token) || !strings.Contains(p.Body, `download="alumnipass-L0001.png"`) {
		t.Fatalf("issued page: %.1500s", p.Body)
	}
	// The letter speaks the member's language.
	letter := cc.want(cc.post("/admin/members/"+id+"/letter", url.Values{"token": {token}}), 200)
	if !strings.Contains(letter.Body, "Dear Alex Smith,") || !strings.Contains(letter.Body, `lang="en"`) || !strings.Contains(letter.Body, "data:image/png;base64,") {
		t.Fatalf("letter: %.1500s", letter.Body)
	}
	// A token is good only for its own member.
	other := ts.newFixture("gold")
	cc.want(cc.post("/admin/members/"+other.MemberID+"/letter", url.Values{"token": {token}}), 404)
	cc.want(cc.post("/admin/members/"+id+"/letter", url.Values{"token": {"ape_forged"}}), 404)

	p = cc.want(cc.post("/admin/members/"+id+"/send-enrollment", url.Values{"token": {token}}), 200)
	if !strings.Contains(p.Body, "alex@example.com") {
		t.Errorf("send: %.600s", p.Body)
	}
	outbox, _ := filepath.Glob(filepath.Join(ts.App.cfg.DataDir, "outbox", "*.eml"))
	if len(outbox) != 1 {
		t.Fatalf("outbox: %v", outbox)
	}
	eml, _ := os.ReadFile(outbox[0])
	if !strings.Contains(string(eml), "To: \"Alex Smith\" <alex@example.com>") {
		t.Errorf("e-mail: %s", eml)
	}
	es, err := ts.App.svc.Members.Audit(context.Background(), members.AuditFilter{TargetID: id, Action: "card.enrollment_sent"})
	if err != nil || len(es) != 1 || !strings.Contains(es[0].After, "outbox") {
		t.Fatalf("audit: %v %v", es, err)
	}
	// After enrolment the token no longer prints a letter.
	ts.must(ts.do("POST", "/api/v1/wallet/enroll", "", map[string]any{"token": token, "consent": true}), 201)
	cc.want(cc.post("/admin/members/"+id+"/letter", url.Values{"token": {token}}), 404)
}

// TestConsoleReportsAndUsers: the report page draws its chart and the CSV
// opens in Excel; only an admin manages console users, audited.
func TestConsoleReportsAndUsers(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	f := ts.newFixture("gold")
	v := ts.must(ts.verify(f.DeviceKey, f.cardCode(t, ts.Clock.Now())), 200)
	ts.must(ts.do("POST", "/api/v1/redemptions", f.DeviceKey, map[string]any{"verification_id": v.Str("verification_id"),
		"perk_id": f.PerkID, "party_size": 3}, "Idempotency-Key", "console-report-1"), 201)
	admin := ts.consoleAs(model.RoleAdmin, "")
	p := admin.want(admin.get("/admin/reports"), 200)
	if !strings.Contains(p.Body, "<svg") || !strings.Contains(p.Body, "<rect") || !strings.Contains(p.Body, `id="total-count">1<`) {
		t.Fatalf("reports: %.2000s", p.Body)
	}
	csv := admin.want(admin.get("/admin/reports.csv"), 200)
	if !strings.HasPrefix(csv.Body, "\ufeff月,提携先,特典,利用件数,利用人数\r\n") || !strings.Contains(csv.Body, ",1,3\r\n") {
		t.Errorf("CSV: %q", csv.Body)
	}

	admin.want(admin.get("/admin/users"), 200)
	admin.want(admin.post("/admin/users", url.Values{"email": {"pm@example.com"}, "name": {"提携 太郎"}, "role": {"partner_manager"},
		"password": {"long enough password"}, "locale": {"ja"}}), 400)
	admin.want(admin.post("/admin/users", url.Values{"email": {"pm@example.com"}, "name": {"提携 太郎"}, "role": {"partner_manager"},
		"partner_id": {f.PartnerID}, "password": {"long enough password"}, "locale": {"ja"}}), 303, "/admin/users?msg=user_created")
	es, err := ts.App.svc.Members.Audit(context.Background(), members.AuditFilter{Action: "admin.create"})
	if err != nil || len(es) != 1 || strings.Contains(es[0].After, "password") {
		t.Fatalf("admin.create audit: %v %v", es, err)
	}
	pm := ts.newConsoleClient()
	pm.signIn("pm@example.com", "long enough password", "")

	hr := ts.consoleAs(model.RoleHR, "")
	hr.want(hr.get("/admin/users"), 403)
	hr.want(hr.post("/admin/users", url.Values{"email": {"x@example.com"}, "name": {"x"}, "role": {"admin"}, "password": {"long enough password"}}), 403)

	audit := admin.want(admin.get("/admin/audit?action=admin.create"), 200)
	if !strings.Contains(audit.Body, "管理ユーザーの追加") {
		t.Errorf("audit page: %.1000s", audit.Body)
	}
}

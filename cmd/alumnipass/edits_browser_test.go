package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/alumnipass/alumnipass/internal/browsertest"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// perkTitles lists the titles of the perks a verify answer offers.
func perkTitles(r *response) []string {
	var out []string
	ps, _ := r.JSON["perks"].([]any)
	for _, p := range ps {
		if m, ok := p.(map[string]any); ok {
			out = append(out, m["title"].(string))
		}
	}
	return out
}

// TestConsoleBrowserTierEditReachesScan: HR changes a member's tier in
// the console's edit form, in a browser; the very next scan of the
// member's card says the new tier and offers the new tier's perk, which
// the scan before did not.
func TestConsoleBrowserTierEditReachesScan(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	f := ts.newFixture("standard") // its partner offers "10% off" to every tier
	ts.must(ts.do("POST", "/api/v1/partners/"+f.PartnerID+"/perks", ts.HRToken, map[string]any{
		"title": "ゴールド会員ドリンク", "eligible_tiers": []string{"gold"}, "companions": 1, "limit_per_day": 1}), 201)
	t0 := time.Now().Add(2 * time.Second)
	ts.Clock.Set(t0)
	defer ts.Clock.Set(time.Time{})
	before := ts.must(ts.verify(f.DeviceKey, f.cardCode(t, t0)), 200)
	if before.Str("result") != "valid" || before.Str("tier") != "standard" || strings.Contains(strings.Join(perkTitles(before), "|"), "ゴールド") {
		t.Fatalf("before the edit: %s", before.Body)
	}

	email, pw := ts.newConsoleUser(model.RoleHR, "")
	ctx := consoleBrowser(t, chromedp.WindowSize(1280, 900))
	consoleBrowserSignIn(t, ctx, ts, email, pw)
	var notice string
	consoleBrowse(t, ctx, 30*time.Second,
		chromedp.Navigate(ts.URL+"/admin/members/"+f.MemberID),
		chromedp.WaitVisible(`#member-edit`, chromedp.ByQuery),
		chromedp.Click(`#member-edit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#member-form`, chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById('tier').select()`, nil), // typing replaces the selection
		chromedp.SendKeys(`#tier`, "gold", chromedp.ByQuery),
		chromedp.Click(`#member-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#notice`, chromedp.ByQuery),
		chromedp.Text(`#notice`, &notice, chromedp.ByQuery),
	)
	if !strings.Contains(notice, "更新") && !strings.Contains(notice, "updated") {
		t.Fatalf("after saving the form the console says %q", notice)
	}

	// The next scan (the card's next 30-s step) shows the new tier.
	ts.Clock.Set(t0.Add(30 * time.Second))
	after := ts.must(ts.verify(f.DeviceKey, f.cardCode(t, ts.Clock.Now())), 200)
	titles := strings.Join(perkTitles(after), "|")
	if after.Str("result") != "valid" || after.Str("tier") != "gold" || !strings.Contains(titles, "ゴールド会員ドリンク") || !strings.Contains(titles, "10% off") {
		t.Fatalf("the scan after the edit: %s", after.Body)
	}
	if !ts.auditHas("member.update", f.MemberID, `"standard"`, `"gold"`) {
		t.Fatal("the console's tier change is not audited with before and after")
	}
}

// TestWalletBrowserLostPhoneRecovery: a card enrolled in browser A; in a
// fresh browser B the alumnus asks for a link at /w/recover, opens the
// link from the outbox, confirms and enrols. Then A's page says the card is
// no longer on this phone and A's wallet token is refused by the API; B's
// code from the screen is valid and A's old code is refused.
func TestWalletBrowserLostPhoneRecovery(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	venue := ts.newFixture("gold")
	email := "lost.phone@example.com"
	m := ts.must(ts.do("POST", "/api/v1/members", ts.HRToken, map[string]any{"employee_no": "LP001", "family_name": "鈴木",
		"given_name": "一郎", "email": email, "tier": "gold", "departed_on": "2025-03-31", "locale": "en"}), 201)
	link := ts.must(ts.do("POST", "/api/v1/members/"+m.Str("id")+"/cards", ts.HRToken, nil), 201).Str("enrollment_url")
	outbox := filepath.Join(ts.App.cfg.DataDir, "outbox")

	a := browsertest.New(t)
	browse(t, a, 30*time.Second,
		chromedp.Navigate(link),
		chromedp.WaitVisible(`#enroll-form`, chromedp.ByQuery),
		chromedp.Click(`#enroll-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#card-qr[data-code]`, chromedp.ByQuery),
	)
	codeA, _ := readCardQR(t, a)
	if r := ts.must(ts.do("POST", "/api/v1/verify", venue.DeviceKey, map[string]any{"code": codeA}), 200); r.Str("result") != "valid" {
		t.Fatalf("phone A's code before recovery: %s", r.Body)
	}

	// Phone B, a fresh profile: ask for a link, open it from the outbox.
	b := browsertest.New(t)
	var state string
	browse(t, b, 30*time.Second,
		chromedp.Navigate(ts.URL+"/w/recover?lang=en"),
		chromedp.WaitVisible(`#recover-form`, chromedp.ByQuery),
		chromedp.SendKeys(`#email`, email, chromedp.ByQuery),
		chromedp.Click(`#recover-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#recover-sent`, chromedp.ByQuery),
		chromedp.AttributeValue(`#recover`, "data-state", &state, nil, chromedp.ByQuery),
	)
	if state != "sent" {
		t.Fatalf("recover page state %q", state)
	}
	var token string
	for i := 0; i < 250 && token == ""; i++ {
		for _, body := range outboxMails(t, outbox) {
			if m := recoverLink.FindStringSubmatch(body); m != nil && strings.Contains(body, email) {
				token = m[1]
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if token == "" {
		t.Fatal("no recovery e-mail in the outbox")
	}
	browse(t, b, 40*time.Second,
		chromedp.Navigate(ts.URL+"/w/recover/"+token),
		chromedp.WaitVisible(`#recover-confirm`, chromedp.ByQuery),
		chromedp.Click(`#recover-confirm`, chromedp.ByQuery),
		chromedp.WaitVisible(`#enroll-form`, chromedp.ByQuery),
		chromedp.Click(`#enroll-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#card-qr[data-code]`, chromedp.ByQuery),
	)
	codeB, _ := readCardQR(t, b)
	if r := ts.must(ts.do("POST", "/api/v1/verify", venue.DeviceKey, map[string]any{"code": codeB}), 200); r.Str("result") != "valid" {
		t.Fatalf("phone B's code: %s", r.Body)
	}
	if r := ts.must(ts.do("POST", "/api/v1/verify", venue.DeviceKey, map[string]any{"code": codeA}), 200); r.Str("result") == "valid" {
		t.Fatalf("phone A's old code after recovery: %s", r.Body)
	}

	// Phone A: the page says so, and the API refuses its wallet.
	var status, banner string
	var apiStatus int
	browse(t, a, 30*time.Second,
		chromedp.Navigate(ts.URL+"/w?lang=en"),
		chromedp.WaitVisible(`#status-banner`, chromedp.ByQuery),
		chromedp.AttributeValue(`#card`, "data-status", &status, nil, chromedp.ByQuery),
		chromedp.Text(`#status-text`, &banner, chromedp.ByQuery),
		evalAsync(`fetch('/api/v1/wallet/code', {cache: 'no-store'}).then(r => r.status)`, &apiStatus),
	)
	if status != "replaced" || !strings.Contains(banner, "no longer on this phone") {
		t.Fatalf("phone A's page: status %q, %q", status, banner)
	}
	if apiStatus < 400 || apiStatus >= 500 {
		t.Fatalf("phone A's wallet code request: HTTP %d, want a refusal", apiStatus)
	}
	var qr int
	browse(t, a, 5*time.Second, chromedp.Evaluate(`document.querySelectorAll('#card-qr[data-code]').length`, &qr))
	if qr != 0 {
		t.Fatal("phone A still draws a card code")
	}
}

// TestEditScreenshots writes docs/screenshots/ of the day-two pages: the
// partner page with its edit forms, the perk edit form, the console users,
// the member edit form and the wallet's perk directory, when
// UPDATE_SCREENSHOTS=1. At 360 px wide, none of the console pages scrolls
// sideways.
func TestEditScreenshots(t *testing.T) {
	if os.Getenv("UPDATE_SCREENSHOTS") != "1" {
		t.Skip("set UPDATE_SCREENSHOTS=1 to write docs/screenshots/")
	}
	ts := startServer(t, store.SQLite)
	dir := filepath.Join("..", "..", "docs", "screenshots")
	memberID, partnerID := consoleDemoData(t, ts)
	perks := ts.must(ts.do("GET", "/api/v1/partners/"+partnerID+"/perks", ts.HRToken, nil), 200).JSON["perks"].([]any)
	perkID := perks[len(perks)-1].(map[string]any)["id"].(string)
	ts.must(ts.do("PATCH", "/api/v1/partners/"+partnerID+"/perks/"+perkID, ts.HRToken, map[string]any{
		"days": []string{"fri", "sat"}, "hours": "17:00-22:00", "title_en": "Welcome drink"}), 200)
	email, pw := "kanri@example.com", "correct horse battery"
	if _, err := ts.App.svc.Console.CreateAdmin(context.Background(), email, "管理 一郎", pw, model.RoleAdmin, "", "ja"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ email, name, role, partner string }{
		{"hanako.jinji@example.com", "人事 花子", model.RoleHR, ""}, {"kansa@example.com", "監査 次郎", model.RoleViewer, ""},
		{"manager@sakura.example.com", "さくら 店長", model.RolePartnerManager, partnerID}} {
		if _, err := ts.App.svc.Console.CreateAdmin(context.Background(), u.email, u.name, pw, u.role, u.partner, "ja"); err != nil {
			t.Fatal(err)
		}
	}
	shot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var png []byte
			if err := chromedp.FullScreenshot(&png, 100).Do(ctx); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
		})
	}
	ctx := consoleBrowser(t, chromedp.WindowSize(1280, 800), chromedp.Flag("lang", "ja-JP"))
	consoleBrowserSignIn(t, ctx, ts, email, pw)
	viewport := chromedp.EmulateViewport(1280, 800)
	base := ts.URL + "/admin/partners/" + partnerID
	consoleBrowse(t, ctx, 60*time.Second, viewport,
		chromedp.Navigate(base),
		chromedp.WaitVisible(`#partner-settings`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('#partner-deactivate').open = true`, nil),
		shot("admin-partner-edit"),
		chromedp.Navigate(base+"/perks/"+perkID+"/edit"),
		chromedp.WaitVisible(`#perk-edit-form`, chromedp.ByQuery),
		shot("admin-perk-edit"),
		chromedp.Navigate(ts.URL+"/admin/users"),
		chromedp.WaitVisible(`#users-table`, chromedp.ByQuery),
		shot("admin-users"),
		chromedp.Navigate(ts.URL+"/admin/members/"+memberID+"/edit"),
		chromedp.WaitVisible(`#member-form`, chromedp.ByQuery),
		shot("admin-member-edit"),
	)
	assertPhoneWidth(t, ctx, base, base+"/perks/"+perkID+"/edit", ts.URL+"/admin/users", ts.URL+"/admin/members/"+memberID+"/edit")
	consoleBrowse(t, ctx, 20*time.Second, chromedp.EmulateViewport(360, 740),
		chromedp.Navigate(base), chromedp.WaitVisible(`#partner-settings`, chromedp.ByQuery), shot("admin-partner-edit-360"))

	// The wallet's perk directory, on a phone, in Japanese.
	link := issueEnrolmentLink(t, ts, "gold")
	phone := consoleBrowser(t, chromedp.WindowSize(390, 844), chromedp.Flag("lang", "ja-JP"))
	var png []byte
	consoleBrowse(t, phone, 40*time.Second, chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(link+"?lang=ja"),
		chromedp.WaitVisible(`#enroll-form`, chromedp.ByQuery),
		chromedp.Click(`#enroll-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#card-qr[data-code]`, chromedp.ByQuery),
		chromedp.Navigate(ts.URL+"/w?lang=ja"),
		chromedp.WaitVisible(`#perks`, chromedp.ByQuery),
		chromedp.Screenshot(`#perks`, &png, chromedp.ByQuery),
	)
	if err := os.WriteFile(filepath.Join(dir, "wallet-perk-directory.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// assertPhoneWidth checks that none of the pages scrolls sideways at a
// 360 px viewport (wide tables scroll inside their own box), naming the
// elements that overflow if one does.
func assertPhoneWidth(t *testing.T, ctx context.Context, paths ...string) {
	t.Helper()
	for _, path := range paths {
		var wide int
		var culprits string
		consoleBrowse(t, ctx, 20*time.Second, chromedp.EmulateViewport(360, 740),
			chromedp.Navigate(path),
			chromedp.WaitVisible(`.console-top`, chromedp.ByQuery),
			chromedp.Evaluate(`document.documentElement.scrollWidth`, &wide),
			chromedp.Evaluate(`[...document.querySelectorAll('body, body *')].filter(e => e.scrollWidth > 361 && !(e.parentElement && e.parentElement.closest('.table-wrap')))
				.slice(0, 12).map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + e.scrollWidth + '/' + e.clientWidth).join('; ')`, &culprits))
		if wide > 360 {
			t.Errorf("%s is %d px wide at a 360 px viewport: %s", path, wide, culprits)
		}
	}
}

// TestConsoleEditPagesAtPhoneWidth: the partner page with its edit forms
// (HR's and the manager's), the perk edit form, the users page and the
// member edit form fit a 360 px phone.
func TestConsoleEditPagesAtPhoneWidth(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	f := ts.newFixture("gold")
	ts.must(ts.do("PATCH", "/api/v1/partners/"+f.PartnerID+"/perks/"+f.PerkID, ts.HRToken, map[string]any{
		"description": "平日のランチタイムにお会計から10%を割り引きます。同伴者3名様まで対象です。", "days": []string{"mon", "tue", "wed", "thu", "fri"}, "hours": "11:00-14:00"}), 200)
	pw := "correct horse battery"
	for _, u := range []struct{ email, role, partner string }{{"admin360@example.com", model.RoleAdmin, ""}, {"pm360@example.com", model.RolePartnerManager, f.PartnerID}} {
		if _, err := ts.App.svc.Console.CreateAdmin(context.Background(), u.email, "試験 "+u.role, pw, u.role, u.partner, "ja"); err != nil {
			t.Fatal(err)
		}
	}
	ctx := consoleBrowser(t, chromedp.WindowSize(360, 740))
	consoleBrowserSignIn(t, ctx, ts, "admin360@example.com", pw)
	base := ts.URL + "/admin/partners/" + f.PartnerID
	assertPhoneWidth(t, ctx, base, base+"/perks/"+f.PerkID+"/edit", ts.URL+"/admin/users", ts.URL+"/admin/members/"+f.MemberID+"/edit")
	pm := consoleBrowser(t, chromedp.WindowSize(360, 740))
	consoleBrowserSignIn(t, pm, ts, "pm360@example.com", pw)
	assertPhoneWidth(t, pm, ts.URL+"/partner", ts.URL+"/partner/perks/"+f.PerkID+"/edit")
}

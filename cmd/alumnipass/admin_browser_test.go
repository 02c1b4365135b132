package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/alumnipass/alumnipass/internal/browsertest"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// consoleBrowser is a browser tab for a console test. It closes the
// browser gracefully, and waits for it, before the test's temporary
// folders (its profile among them) are removed.
func consoleBrowser(t *testing.T, opts ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	ctx := browsertest.New(t, opts...)
	t.Cleanup(func() { _ = chromedp.Cancel(ctx) })
	return ctx
}

// consoleBrowse runs browser actions with a time limit.
func consoleBrowse(t *testing.T, ctx context.Context, limit time.Duration, actions ...chromedp.Action) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	if err := chromedp.Run(c, actions...); err != nil {
		var loc, body string
		sc, cancel2 := context.WithTimeout(ctx, 3*time.Second)
		defer cancel2()
		_ = chromedp.Run(sc, chromedp.Location(&loc), chromedp.Text("body", &body, chromedp.ByQuery))
		t.Fatalf("browser: %v\nat %s\n%.1500s", err, loc, body)
	}
}

// consoleBrowserSignIn signs in through the pages: password, then the
// second factor set up from the secret the setup page shows.
func consoleBrowserSignIn(t *testing.T, ctx context.Context, ts *testServer, email, password string) {
	t.Helper()
	var secret string
	consoleBrowse(t, ctx, 20*time.Second,
		chromedp.Navigate(ts.URL+"/admin/login?lang=ja"),
		chromedp.WaitVisible(`#login-form`, chromedp.ByQuery),
		chromedp.SendKeys(`#email`, email, chromedp.ByQuery),
		chromedp.SendKeys(`#password`, password, chromedp.ByQuery),
		chromedp.Click(`#login-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#totp-secret`, chromedp.ByQuery),
		chromedp.Text(`#totp-secret`, &secret, chromedp.ByQuery),
	)
	code, err := totp.GenerateCode(strings.TrimSpace(secret), ts.Clock.Now())
	if err != nil {
		t.Fatalf("secret %q: %v", secret, err)
	}
	consoleBrowse(t, ctx, 20*time.Second,
		chromedp.SendKeys(`#code`, code, chromedp.ByQuery),
		chromedp.Click(`#totp-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`.console-top`, chromedp.ByQuery),
	)
}

// TestConsoleBrowserMemberJourney: HR signs in with the second factor,
// adds a member, issues the card (through the confirmation step) and
// revokes the membership with a reason; the API then says revoked.
func TestConsoleBrowserMemberJourney(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	email, pw := ts.newConsoleUser(model.RoleHR, "")
	ctx := consoleBrowser(t, chromedp.WindowSize(1280, 900))
	consoleBrowserSignIn(t, ctx, ts, email, pw)

	var loc, enrolURL, status string
	consoleBrowse(t, ctx, 30*time.Second,
		chromedp.Navigate(ts.URL+"/admin/members/new"),
		chromedp.WaitVisible(`#member-form`, chromedp.ByQuery),
		chromedp.SendKeys(`#employee_no`, "B0001", chromedp.ByQuery),
		chromedp.SendKeys(`#email`, "kenji.ito@example.com", chromedp.ByQuery),
		chromedp.SendKeys(`#family_name`, "伊藤", chromedp.ByQuery),
		chromedp.SendKeys(`#given_name`, "健二", chromedp.ByQuery),
		chromedp.SendKeys(`#family_name_kana`, "イトウ", chromedp.ByQuery),
		chromedp.SendKeys(`#given_name_kana`, "ケンジ", chromedp.ByQuery),
		chromedp.SetValue(`#tier`, "gold", chromedp.ByQuery),
		chromedp.SetValue(`#departed_on`, "2025-03-31", chromedp.ByQuery),
		chromedp.Click(`#member-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#member-status`, chromedp.ByQuery),
		chromedp.Location(&loc),
		// Issue the card: open the confirmation, then confirm.
		chromedp.Click(`#issue-card`, chromedp.ByQuery),
		chromedp.WaitVisible(`#issue-confirm`, chromedp.ByQuery),
		chromedp.Click(`#issue-confirm`, chromedp.ByQuery),
		chromedp.WaitVisible(`#enroll-qr`, chromedp.ByQuery),
		chromedp.Value(`#enroll-url`, &enrolURL, chromedp.ByQuery),
	)
	id := loc[strings.LastIndex(loc, "/")+1:]
	if i := strings.IndexByte(id, '?'); i >= 0 {
		id = id[:i]
	}
	if !strings.Contains(enrolURL, "/w/enroll/ape_") {
		t.Fatalf("enrolment link %q", enrolURL)
	}
	if st := ts.memberStatus(id); st != model.MemberActive {
		t.Fatalf("member %s is %s", id, st)
	}
	consoleBrowse(t, ctx, 30*time.Second,
		chromedp.Navigate(ts.URL+"/admin/members/"+id),
		chromedp.WaitVisible(`#revoke-open`, chromedp.ByQuery),
		chromedp.Click(`#revoke-open`, chromedp.ByQuery),
		chromedp.WaitVisible(`#revoke-reason`, chromedp.ByQuery),
		chromedp.SendKeys(`#revoke-reason`, "本人からの退会申し出", chromedp.ByQuery),
		chromedp.Click(`#revoke-confirm`, chromedp.ByQuery),
		chromedp.WaitVisible(`#member-status[data-status="revoked"]`, chromedp.ByQuery),
		chromedp.Text(`#member-status`, &status, chromedp.ByQuery),
	)
	if status != "失効" {
		t.Errorf("status badge %q", status)
	}
	if st := ts.memberStatus(id); st != model.MemberRevoked {
		t.Fatalf("after revoking in the console the API says %s", st)
	}
	r := ts.must(ts.do("GET", "/api/v1/members/"+id, ts.HRToken, nil), 200)
	if r.Str("status_reason") != "本人からの退会申し出" {
		t.Errorf("reason %q", r.Str("status_reason"))
	}
}

// TestConsoleBrowserImportPreview: a CSV with one bad line uploaded
// through the page shows the line and column of the problem, offers no
// import, and writes nothing.
func TestConsoleBrowserImportPreview(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	email, pw := ts.newConsoleUser(model.RoleHR, "")
	ctx := consoleBrowser(t, chromedp.WindowSize(1280, 900))
	consoleBrowserSignIn(t, ctx, ts, email, pw)

	csvPath := filepath.Join(t.TempDir(), "members.csv")
	csv := "社員番号,姓,名,メールアドレス,区分,退職日\nP0001,鈴木,一郎,ichiro@example.com,standard,2024-03-31\nP0002,田中,次郎,not-an-address,gold,2024-04-30\n"
	if err := os.WriteFile(csvPath, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	before := ts.count("members")
	var problems string
	var applyButtons int
	consoleBrowse(t, ctx, 30*time.Second,
		chromedp.Navigate(ts.URL+"/admin/import"),
		chromedp.WaitVisible(`#import-form`, chromedp.ByQuery),
		chromedp.SetUploadFiles(`#file`, []string{csvPath}, chromedp.ByQuery),
		chromedp.Click(`#import-preview`, chromedp.ByQuery),
		chromedp.WaitVisible(`#problems`, chromedp.ByQuery),
		chromedp.Text(`#problems tbody`, &problems, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('#import-apply').length`, &applyButtons),
	)
	if !strings.Contains(problems, "3") || !strings.Contains(problems, "メールアドレス") {
		t.Errorf("problems table: %q", problems)
	}
	if applyButtons != 0 {
		t.Error("an Import button is offered for a file with problems")
	}
	if n := ts.count("members"); n != before {
		t.Fatalf("the preview imported: %d → %d", before, n)
	}
}

// TestConsoleScreenshots writes docs/screenshots/*.png of the main console
// pages at 1280×800 when UPDATE_SCREENSHOTS=1.
func TestConsoleScreenshots(t *testing.T) {
	if os.Getenv("UPDATE_SCREENSHOTS") != "1" {
		t.Skip("set UPDATE_SCREENSHOTS=1 to write docs/screenshots/")
	}
	ts := startServer(t, store.SQLite)
	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	memberID, partnerID := consoleDemoData(t, ts)
	email, pw := "hanako.jinji@example.com", "correct horse battery"
	if _, err := ts.App.svc.Console.CreateAdmin(context.Background(), email, "人事 花子", pw, model.RoleHR, "", "ja"); err != nil {
		t.Fatal(err)
	}
	ctx := consoleBrowser(t, chromedp.WindowSize(1280, 800), chromedp.Flag("lang", "ja-JP"))
	shot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var png []byte
			if err := chromedp.CaptureScreenshot(&png).Do(ctx); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
		})
	}
	viewport := chromedp.EmulateViewport(1280, 800)
	consoleBrowse(t, ctx, 20*time.Second, viewport,
		chromedp.Navigate(ts.URL+"/admin/login?lang=ja"),
		chromedp.WaitVisible(`#login-form`, chromedp.ByQuery),
		shot("admin-login"))
	consoleBrowserSignIn(t, ctx, ts, email, pw)

	csvPath := filepath.Join(t.TempDir(), "社員名簿.csv")
	csv := "社員番号,姓,名,セイ,メイ,メールアドレス,区分,退職日\n" +
		"E2001,中村,美咲,ナカムラ,ミサキ,misaki.nakamura@example.com,standard,2025-06-30\n" +
		"E2002,小林,大輔,コバヤシ,ダイスケ,daisuke@example,gold,2025-07-31\n" +
		"E2003,加藤,由美,カトウ,ユミ,yumi.kato@example.com,platinum!,2025-08-31\n"
	if err := os.WriteFile(csvPath, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	consoleBrowse(t, ctx, 60*time.Second, viewport,
		chromedp.Navigate(ts.URL+"/admin/members"),
		chromedp.WaitVisible(`#members-table`, chromedp.ByQuery),
		shot("admin-members"),
		chromedp.Navigate(ts.URL+"/admin/members/"+memberID),
		chromedp.WaitVisible(`#member-status`, chromedp.ByQuery),
		shot("admin-member"),
		chromedp.Navigate(ts.URL+"/admin/import"),
		chromedp.WaitVisible(`#import-form`, chromedp.ByQuery),
		chromedp.SetUploadFiles(`#file`, []string{csvPath}, chromedp.ByQuery),
		chromedp.Click(`#import-preview`, chromedp.ByQuery),
		chromedp.WaitVisible(`#problems`, chromedp.ByQuery),
		shot("admin-import-preview"),
		chromedp.Navigate(ts.URL+"/admin/reports"),
		chromedp.WaitVisible(`#report-table`, chromedp.ByQuery),
		shot("admin-reports"),
	)

	pmEmail, pmPW := "manager@sakura.example.com", "correct horse battery"
	if _, err := ts.App.svc.Console.CreateAdmin(context.Background(), pmEmail, "さくら 店長", pmPW, model.RolePartnerManager, partnerID, "ja"); err != nil {
		t.Fatal(err)
	}
	pctx := consoleBrowser(t, chromedp.WindowSize(1280, 800), chromedp.Flag("lang", "ja-JP"))
	consoleBrowserSignIn(t, pctx, ts, pmEmail, pmPW)
	consoleBrowse(t, pctx, 20*time.Second, viewport,
		chromedp.Navigate(ts.URL+"/partner"),
		chromedp.WaitVisible(`#report`, chromedp.ByQuery),
		shot("partner-home"))
}

// consoleDemoData fills a server with members, two partners and three
// months of redemptions, for the screenshots; it returns a member and the
// restaurant partner.
func consoleDemoData(t *testing.T, ts *testServer) (memberID, partnerID string) {
	t.Helper()
	start := time.Now().AddDate(0, -3, 0)
	ts.Clock.Set(start)
	defer ts.Clock.Set(time.Time{})
	people := []struct{ no, family, given, fk, gk, email, tier, left string }{
		{"E1001", "山田", "太郎", "ヤマダ", "タロウ", "taro.yamada@example.com", "gold", "2024-03-31"},
		{"E1002", "髙橋", "花子", "タカハシ", "ハナコ", "hanako.takahashi@example.com", "standard", "2025-09-30"},
		{"E1003", "佐藤", "健", "サトウ", "ケン", "ken.sato@example.com", "standard", "2023-06-30"},
		{"E1004", "渡辺", "直美", "ワタナベ", "ナオミ", "naomi.watanabe@example.com", "gold", "2022-12-31"},
		{"E1005", "Smith", "Alex", "", "", "alex.smith@example.com", "standard", "2023-12-31"},
		{"E1006", "山﨑", "翔太", "ヤマザキ", "ショウタ", "shota.yamazaki@example.com", "standard", "2024-09-30"},
	}
	var ids []string
	var cards []*fixture
	for i, p := range people {
		m := ts.must(ts.do("POST", "/api/v1/members", ts.HRToken, map[string]any{"employee_no": p.no, "family_name": p.family,
			"given_name": p.given, "family_name_kana": p.fk, "given_name_kana": p.gk, "email": p.email, "tier": p.tier, "departed_on": p.left}), 201)
		ids = append(ids, m.Str("id"))
		if i < 3 {
			card := ts.must(ts.do("POST", "/api/v1/members/"+m.Str("id")+"/cards", ts.HRToken, nil), 201)
			enr := ts.must(ts.do("POST", "/api/v1/wallet/enroll", "", map[string]any{"token": card.Str("enrollment_token"), "consent": true}), 201)
			cards = append(cards, &fixture{MemberID: m.Str("id"), SignedPart: enr.Str("signed_part"), Secret: enr.Str("totp_secret")})
		}
	}
	ts.must(ts.do("POST", "/api/v1/members/"+ids[3]+"/suspend", ts.HRToken, map[string]string{"reason": "連絡先確認中"}), 200)
	ts.must(ts.do("POST", "/api/v1/members/"+ids[4]+"/revoke", ts.HRToken, map[string]string{"reason": "本人からの退会申し出"}), 200)

	type demoPartner struct {
		id, key string
		perks   []string
	}
	partner := func(name, kind, venue string, perks ...map[string]any) demoPartner {
		p := ts.must(ts.do("POST", "/api/v1/partners", ts.HRToken, map[string]any{"name": name, "kind": kind, "venue_name": venue}), 201)
		d := demoPartner{id: p.Str("id")}
		d.key = ts.must(ts.do("POST", "/api/v1/partners/"+d.id+"/keys", ts.HRToken, map[string]any{"name": "レジ横タブレット"}), 201).Str("key")
		for _, pk := range perks {
			d.perks = append(d.perks, ts.must(ts.do("POST", "/api/v1/partners/"+d.id+"/perks", ts.HRToken, pk), 201).Str("id"))
		}
		return d
	}
	sakura := partner("レストラン さくら", "restaurant", "さくら 丸の内店",
		map[string]any{"title": "お食事代 10% オフ", "description": "同伴者3名まで", "eligible_tiers": []string{"*"}, "companions": 3, "limit_per_day": 1},
		map[string]any{"title": "ウェルカムドリンク", "description": "ゴールド会員", "eligible_tiers": []string{"gold"}, "companions": 1, "limit_per_day": 1})
	ts.must(ts.do("POST", "/api/v1/partners/"+sakura.id+"/venues", ts.HRToken, map[string]any{"name": "さくら 銀座店"}), 201)
	aoba := partner("ホテル青葉", "hotel", "ホテル青葉 仙台",
		map[string]any{"title": "宿泊料金 20% オフ", "eligible_tiers": []string{"*"}, "companions": 1, "limit_per_month": 4})
	n := 0
	redeem := func(card *fixture, p demoPartner, perk string) {
		n++
		v := ts.must(ts.verify(p.key, card.cardCode(t, ts.Clock.Now())), 200)
		if v.Str("result") != "valid" {
			t.Fatalf("verify: %s", v.Body)
		}
		ts.must(ts.do("POST", "/api/v1/redemptions", p.key, map[string]any{"verification_id": v.Str("verification_id"),
			"perk_id": perk, "party_size": 1 + n%2}, "Idempotency-Key", fmt.Sprintf("screenshot-%04d", n)), 201)
	}
	for day := 0; day < 92; day += 4 {
		for i, card := range cards {
			ts.Clock.Set(start.Add(time.Duration(day)*24*time.Hour + time.Duration(3+i)*time.Hour))
			switch {
			case (day/4+i)%3 != 2:
				redeem(card, sakura, sakura.perks[0])
				if i == 0 && day%8 == 0 {
					redeem(card, sakura, sakura.perks[1])
				}
			case day%12 == 0:
				redeem(card, aoba, aoba.perks[0])
			}
		}
	}
	return ids[0], sakura.id
}

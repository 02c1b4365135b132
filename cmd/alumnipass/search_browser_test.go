package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// TestConsoleBrowserSearchFoldsWhatHRTypes: HR adds 髙橋 花子 with the
// reading typed in half-width kana and hiragana; the reading is stored in
// katakana, as the import stores it, and the search box finds her by 高橋,
// by たかはし and by ﾀｶﾊｼ, while the list shows her name as HR wrote it.
// 齋藤 (added through the API) is found by 斎藤.
func TestConsoleBrowserSearchFoldsWhatHRTypes(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	ts.must(ts.do("POST", "/api/v1/members", ts.HRToken, map[string]any{
		"employee_no": "S0002", "family_name": "齋藤", "given_name": "健", "email": "ken.saito@example.com",
		"tier": "standard", "departed_on": "2024-03-31"}), 201)
	email, pw := ts.newConsoleUser(model.RoleHR, "")
	ctx := consoleBrowser(t, chromedp.WindowSize(1280, 900))
	consoleBrowserSignIn(t, ctx, ts, email, pw)

	consoleBrowse(t, ctx, 30*time.Second,
		chromedp.Navigate(ts.URL+"/admin/members/new"),
		chromedp.WaitVisible(`#member-form`, chromedp.ByQuery),
		chromedp.SendKeys(`#employee_no`, "S0001", chromedp.ByQuery),
		chromedp.SendKeys(`#email`, "hanako.takahashi@example.com", chromedp.ByQuery),
		chromedp.SendKeys(`#family_name`, "髙橋", chromedp.ByQuery),
		chromedp.SendKeys(`#given_name`, "花子", chromedp.ByQuery),
		chromedp.SendKeys(`#family_name_kana`, "ﾀｶﾊｼ", chromedp.ByQuery),
		chromedp.SendKeys(`#given_name_kana`, "はなこ", chromedp.ByQuery),
		chromedp.SetValue(`#departed_on`, "2025-03-31", chromedp.ByQuery),
		chromedp.Click(`#member-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#member-status`, chromedp.ByQuery),
	)
	search := func(q string) (rows string, n int) {
		t.Helper()
		var count int
		consoleBrowse(t, ctx, 20*time.Second,
			chromedp.Navigate(ts.URL+"/admin/members"),
			chromedp.WaitVisible(`#q`, chromedp.ByQuery),
			chromedp.SendKeys(`#q`, q, chromedp.ByQuery),
			chromedp.Submit(`#q`, chromedp.ByQuery),
			// The list page before the submit has a table too: wait until the
			// answer to the search is the document (evaluations made while it
			// navigates fail; they are tried again), then read its table.
			chromedp.ActionFunc(func(ctx context.Context) error {
				for i := 0; i < 100; i++ {
					var search string
					if err := chromedp.Evaluate(`location.search`, &search).Do(ctx); err == nil && strings.Contains(search, "q=") {
						return nil
					}
					time.Sleep(100 * time.Millisecond)
				}
				return errors.New("the search did not load")
			}),
			chromedp.WaitVisible(`#members-table`, chromedp.ByQuery),
			chromedp.Text(`#members-table tbody`, &rows, chromedp.ByQuery),
			chromedp.Evaluate(`document.querySelectorAll("#members-table a.member-link").length`, &count),
		)
		return rows, count
	}
	for _, q := range []string{"高橋", "たかはし", "ﾀｶﾊｼ", "高橋 花子"} {
		rows, n := search(q)
		if n != 1 || !strings.Contains(rows, "髙橋") || !strings.Contains(rows, "タカハシ") || !strings.Contains(rows, "ハナコ") {
			t.Errorf("search %q: %d rows:\n%s\nwant 髙橋 花子 (タカハシ ハナコ) only", q, n, rows)
		}
	}
	if rows, n := search("斎藤"); n != 1 || !strings.Contains(rows, "齋藤") {
		t.Errorf("search 斎藤: %d rows:\n%s\nwant 齋藤 only", n, rows)
	}
	if rows, n := search("高槻"); n != 0 {
		t.Errorf("search 高槻: %d rows:\n%s\nwant none", n, rows)
	}
}

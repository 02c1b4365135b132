package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/alumnipass/alumnipass/internal/browsertest"
	"github.com/alumnipass/alumnipass/internal/store"
)

// scanAnswer is what the scanner shows after a scan.
type scanAnswer struct {
	Result, Tone, Background, Title, Reason, Detail, Perks string
	RecordShown                                            bool
}

// scanInBrowser types a code into the scanner as a keyboard-wedge scanner
// does and reads the answer on screen.
func scanInBrowser(t *testing.T, ctx context.Context, code string) scanAnswer {
	t.Helper()
	var a scanAnswer
	browse(t, ctx, 20*time.Second,
		chromedp.KeyEvent("\x1b"), // back to ready, as staff dismiss an answer
		chromedp.WaitNotVisible(`#result`, chromedp.ByID),
		chromedp.SendKeys(`#wedge`, code+"\r", chromedp.ByID),
		chromedp.WaitVisible(`#result`, chromedp.ByID),
		chromedp.AttributeValue(`#result`, "data-result", &a.Result, nil, chromedp.ByID),
		chromedp.AttributeValue(`#result`, "data-tone", &a.Tone, nil, chromedp.ByID),
		chromedp.Evaluate(`getComputedStyle(document.getElementById('result')).backgroundColor`, &a.Background),
		chromedp.Text(`#result-title`, &a.Title, chromedp.ByID),
		chromedp.Text(`#result-reason`, &a.Reason, chromedp.ByID),
		chromedp.Evaluate(`document.getElementById('result-detail').textContent`, &a.Detail),
		chromedp.Evaluate(`[...document.querySelectorAll('#perk-choices .perk-choice')].map(b => b.textContent).join(' | ')`, &a.Perks),
		chromedp.Evaluate(`(() => { const r = document.getElementById('record');
			return !r.hidden && !document.getElementById('redeem').hidden && r.offsetParent !== null; })()`, &a.RecordShown),
	)
	return a
}

// screenshot writes docs/screenshots/name.png when UPDATE_SCREENSHOTS=1.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("UPDATE_SCREENSHOTS") != "1" {
		return
	}
	var png []byte
	browse(t, ctx, 10*time.Second, chromedp.CaptureScreenshot(&png))
	if err := os.WriteFile(filepath.Join("..", "..", "docs", "screenshots", name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestScanBrowserNotGreen: green means the perk can be used now. At a perk
// usable once a day, the first scan is green and is recorded; a re-scan of
// the same code says "already recorded" and offers no second record; a new
// code the same day is not green and says why, in Japanese and in English;
// and a record the server refuses (the limit used meanwhile through a guest
// pass) turns the screen red with the reason in the page's language.
func TestScanBrowserNotGreen(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	f := ts.newFixture("gold")
	now := time.Now().UTC().Truncate(time.Second)
	ts.Clock.Set(now)
	_, perkID, key := limitedPerk(ts, nil)
	keyJSON, err := json.Marshal(key)
	if err != nil {
		t.Fatal(err)
	}
	ctx := browsertest.New(t)
	open := func(lang string) {
		browse(t, ctx, 20*time.Second,
			chromedp.Navigate(ts.URL+"/healthz"),
			chromedp.Evaluate(`localStorage.setItem('ap.deviceKey', `+string(keyJSON)+`); localStorage.setItem('ap.camera', 'off'); localStorage.setItem('ap.sound', 'off')`, nil),
			chromedp.Navigate(ts.URL+"/scan?lang="+lang),
			chromedp.WaitVisible(`#wedge`, chromedp.ByID),
		)
	}
	notGreen := func(step string, a scanAnswer, reason string) {
		t.Helper()
		if a.Tone == "ok" || a.Background == okGreen || a.Title == "OK" {
			t.Errorf("%s: the screen is green (%s, %s, %q)", step, a.Tone, a.Background, a.Title)
		}
		if !strings.Contains(a.Reason, reason) {
			t.Errorf("%s: the reason reads %q, want it to say %q", step, a.Reason, reason)
		}
		if a.RecordShown {
			t.Errorf("%s: a record is offered", step)
		}
	}

	open("ja")
	code := f.cardCode(t, now)
	a := scanInBrowser(t, ctx, code)
	if a.Result != "valid" || a.Tone != "ok" || a.Background != okGreen || !a.RecordShown || !strings.Contains(a.Perks, "ランチ10%オフ") {
		t.Fatalf("first scan of the day: %+v\n%s", a, pageState(ctx))
	}
	var recorded string
	browse(t, ctx, 20*time.Second,
		chromedp.Click(`#record`, chromedp.ByID),
		chromedp.WaitNotVisible(`#record`, chromedp.ByID),
		chromedp.Text(`#recorded`, &recorded, chromedp.ByID),
	)
	if recorded != "記録しました（1名）" {
		t.Errorf("after the record the page says %q", recorded)
	}

	// The same code again: already recorded, nothing more to record.
	a = scanInBrowser(t, ctx, code)
	notGreen("re-scan after the record", a, "記録済み")
	if a.Result != "valid" || !strings.Contains(a.Detail, "記録済み") || !strings.Contains(a.Perks, "記録済み") {
		t.Errorf("re-scan after the record: %+v", a)
	}
	screenshot(t, ctx, "scan-already-recorded-ja")

	// A new code the same day: the daily limit is used.
	ts.Clock.Set(now.Add(30 * time.Second))
	a = scanInBrowser(t, ctx, f.cardCode(t, now.Add(30*time.Second)))
	notGreen("a new scan the same day (ja)", a, "本日の利用回数の上限")
	if a.Tone != "bad" || !strings.Contains(a.Perks, "本日分は利用済み") {
		t.Errorf("daily limit (ja): %+v", a)
	}
	screenshot(t, ctx, "scan-daily-limit-ja")

	// Stale codes: an old picture is not blamed on the clock, however far;
	// the same offset again two minutes later is a steady clock.
	a = scanInBrowser(t, ctx, f.cardCode(t, now.Add(30*time.Second-3*time.Minute)))
	if a.Result != "stale" || !strings.Contains(a.Detail, "動いているコード") || strings.Contains(a.Detail, "時計") {
		t.Errorf("a code 3 minutes old: %+v", a)
	}
	screenshot(t, ctx, "scan-stale-old-code-ja")
	a = scanInBrowser(t, ctx, f.cardCode(t, now.Add(30*time.Second-20*time.Minute)))
	if a.Result != "stale" || strings.Contains(a.Detail, "時計") {
		t.Errorf("a code 20 minutes behind, first seen: %+v", a)
	}
	ts.Clock.Set(now.Add(150 * time.Second))
	a = scanInBrowser(t, ctx, f.cardCode(t, now.Add(150*time.Second-20*time.Minute)))
	if a.Result != "stale" || !strings.Contains(a.Detail, "約20分遅れています") {
		t.Errorf("a code 20 minutes behind again two minutes later: %+v", a)
	}

	open("en")
	ts.Clock.Set(now.Add(60 * time.Second))
	a = scanInBrowser(t, ctx, f.cardCode(t, now.Add(60*time.Second)))
	notGreen("a new scan the same day (en)", a, "Today's limit for this perk is already used")
	if a.Title != "NO" || !strings.Contains(a.Perks, "10% off lunch") || !strings.Contains(a.Perks, "used today") {
		t.Errorf("daily limit (en): %+v", a)
	}
	screenshot(t, ctx, "scan-daily-limit-en")

	// Green on screen, then the host's guest pass uses the day's limit at
	// another till before staff tap Record: the refusal turns the screen
	// red and speaks the page's language.
	g := ts.newFixture("gold")
	for _, lang := range []string{"ja", "en"} {
		open(lang)
		at := now.Add(90 * time.Second)
		if lang == "en" {
			g = ts.newFixture("gold")
			at = now.Add(120 * time.Second)
		}
		ts.Clock.Set(at)
		a = scanInBrowser(t, ctx, g.cardCode(t, at))
		if a.Tone != "ok" || !a.RecordShown {
			t.Fatalf("%s: a fresh member's scan: %+v\n%s", lang, a, pageState(ctx))
		}
		gp := ts.must(ts.do("POST", "/api/v1/wallet/guest-passes", g.WalletToken, map[string]any{"party_size": 1,
			"valid_until": at.Add(24 * time.Hour).Format(time.RFC3339)}), 201)
		gv := ts.verify(key, gp.Str("code"))
		ts.must(ts.do("POST", "/api/v1/redemptions", key, map[string]any{"verification_id": gv.Str("verification_id"),
			"perk_id": perkID, "party_size": 1}, "Idempotency-Key", "guest-"+lang+"-0001"), 201)
		var text, tone, bg string
		browse(t, ctx, 20*time.Second,
			chromedp.Click(`#record`, chromedp.ByID),
			chromedp.WaitVisible(`#result[data-refused="true"]`, chromedp.ByQuery),
			chromedp.Text(`#result-reason`, &text, chromedp.ByID),
			chromedp.AttributeValue(`#result`, "data-tone", &tone, nil, chromedp.ByID),
			chromedp.Evaluate(`getComputedStyle(document.getElementById('result')).backgroundColor`, &bg),
		)
		want := map[string]string{"ja": "本日の利用回数の上限", "en": "Today's limit for this perk is already used"}[lang]
		if !strings.Contains(text, want) || tone != "bad" || bg == okGreen {
			t.Errorf("%s: refused record shows %q on %s (%s), want %q on red", lang, text, bg, tone, want)
		}
		if lang == "ja" {
			screenshot(t, ctx, "scan-record-refused-ja")
		}
	}
}

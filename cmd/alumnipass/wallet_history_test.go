package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/alumnipass/alumnipass/internal/browsertest"
	"github.com/alumnipass/alumnipass/internal/store"
)

// historyEntry is one line of the wallet's history as the page data has it.
type historyEntry struct {
	At        string `json:"at"`
	Partner   string `json:"partner"`
	Venue     string `json:"venue"`
	Perk      string `json:"perk"`
	PartySize int    `json:"party_size"`
	Guest     bool   `json:"guest"`
}

// scanAndUse scans the fixture's card scans times, a step apart from after
// on, and records
// one use of its perk for party people on the last scan. The scans happen
// in the next minutes (the card is valid from now on); the server's clock
// follows the real one again afterwards.
func scanAndUse(t *testing.T, ts *testServer, f *fixture, scans, party int, after time.Duration) {
	t.Helper()
	start := time.Now().Add(2*time.Second + after)
	var last string
	for i := 0; i < scans; i++ {
		ts.Clock.Set(start.Add(time.Duration(i) * 30 * time.Second))
		v := ts.verify(f.DeviceKey, f.cardCode(t, ts.Clock.Now()))
		if v.Str("result") != "valid" {
			t.Fatalf("scan %d: %s", i+1, v.Body)
		}
		last = v.Str("verification_id")
	}
	ts.must(ts.do("POST", "/api/v1/redemptions", f.DeviceKey, map[string]any{"verification_id": last, "perk_id": f.PerkID, "party_size": party},
		"Idempotency-Key", fmt.Sprintf("use-%s-%d", f.CardID, scans)), 201)
	ts.Clock.Set(time.Time{})
}

// walletPageHistory opens /w with a wallet token and returns the history in
// its page data and the number of history items in its HTML.
func walletPageHistory(t *testing.T, ts *testServer, walletToken string) ([]historyEntry, int) {
	t.Helper()
	req, err := http.NewRequest("GET", ts.URL+"/w?lang=en", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: "ap_wallet", Value: walletToken})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET /w: HTTP %d\n%s", resp.StatusCode, body)
	}
	m := regexp.MustCompile(`(?s)<script type="application/json" id="page-data">(.*?)</script>`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no page data in /w")
	}
	var data struct {
		History []historyEntry `json:"history"`
	}
	if err := json.Unmarshal(m[1], &data); err != nil {
		t.Fatalf("page data: %v", err)
	}
	return data.History, bytes.Count(body, []byte(`class="history-item"`))
}

// TestWalletHistoryShowsUses checks that the wallet's history lists perk
// uses, not scans: four scans and one use are one entry, with the place, the
// perk and the party size, on both databases.
func TestWalletHistoryShowsUses(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		f := ts.newFixture("gold")
		if h, items := walletPageHistory(t, ts, f.WalletToken); len(h) != 0 || items != 0 {
			t.Fatalf("before any use the history lists %d entries (%d in the HTML): %+v", len(h), items, h)
		}
		// A perk written in Japanese and English: the English page shows the English title.
		pk := ts.must(ts.do("POST", "/api/v1/partners/"+f.PartnerID+"/perks", ts.HRToken, map[string]any{
			"title": "全品10%割引", "title_en": "10% off everything", "eligible_tiers": []string{"*"}, "companions": 3, "limit_per_day": 5}), 201)
		f.PerkID = pk.Str("id")
		scanAndUse(t, ts, f, 4, 3, 0)
		h, items := walletPageHistory(t, ts, f.WalletToken)
		if len(h) != 1 || items != 1 {
			t.Fatalf("four scans and one use: the history lists %d entries (%d in the HTML), want 1: %+v", len(h), items, h)
		}
		e := h[0]
		// The fixture's venue has the partner's name: it is not said twice.
		if e.Perk != "10% off everything" || e.PartySize != 3 || e.Guest || !strings.HasPrefix(e.Partner, "店 ") || e.Venue != "" {
			t.Errorf("history entry %+v, want the perk in English for 3 at the fixture's partner, its name once", e)
		}
		if at, err := time.Parse(time.RFC3339, e.At); err != nil || time.Until(at) < 0 || time.Until(at) > 3*time.Minute {
			t.Errorf("history time %q (%v), want the use's time", e.At, err)
		}
	})
}

// TestWalletBrowserHistoryPhone opens a wallet with several uses, long
// names among them, on a 390×844 phone screen: the history lists the uses
// and nothing is wider than the screen. With UPDATE_SCREENSHOTS=1 it writes
// docs/screenshots/wallet-history.png.
func TestWalletBrowserHistoryPhone(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	f := ts.newFixture("gold")
	scanAndUse(t, ts, f, 2, 2, 0)
	// A second partner with long names, some without a place to break.
	p := ts.must(ts.do("POST", "/api/v1/partners", ts.HRToken, map[string]any{
		"name": "Ristorante Bellavista Marunouchi-Nijubashi-Mae", "kind": "restaurant",
		"venue_name": "東京駅八重洲北口グランルーフ地下一階フードホール店"}), 201)
	k := ts.must(ts.do("POST", "/api/v1/partners/"+p.Str("id")+"/keys", ts.HRToken, map[string]any{"name": "tablet"}), 201)
	pk := ts.must(ts.do("POST", "/api/v1/partners/"+p.Str("id")+"/perks", ts.HRToken, map[string]any{
		"title": "ComplimentaryAperitivoAndDessertForTheWholeTable", "eligible_tiers": []string{"*"}, "companions": 3, "limit_per_day": 5}), 201)
	g := &fixture{CardID: f.CardID + "-2", SignedPart: f.SignedPart, Secret: f.Secret, DeviceKey: k.Str("key"), PerkID: pk.Str("id")}
	scanAndUse(t, ts, g, 1, 4, 2*time.Minute)

	ctx := browsertest.New(t)
	var scrollWidth, items int
	var lines []string
	browse(t, ctx, 30*time.Second,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)),
		emulation.SetTimezoneOverride("Asia/Tokyo"),
		network.SetCookie("ap_wallet", f.WalletToken).WithURL(ts.URL+"/"),
		chromedp.Navigate(ts.URL+"/w?lang=ja"),
		chromedp.WaitVisible(`#card-qr[data-code]`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('.history-item').length`, &items),
		chromedp.Evaluate(`[...document.querySelectorAll('.history-item')].map((li) => li.innerText.replace(/\s+/g, ' ').trim())`, &lines),
		chromedp.Evaluate(`Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)`, &scrollWidth),
	)
	t.Logf("history at 390 px: %d entries, scrollWidth %d: %q", items, scrollWidth, lines)
	if items != 2 {
		t.Errorf("the history lists %d entries, want the 2 uses", items)
	}
	if scrollWidth > 390 {
		t.Errorf("the wallet is %d px wide on a 390 px screen", scrollWidth)
	}
	if os.Getenv("UPDATE_SCREENSHOTS") != "1" {
		return
	}
	var shot []byte
	browse(t, ctx, 20*time.Second,
		chromedp.Evaluate(`document.getElementById('history').scrollIntoView({block: 'start'})`, nil),
		chromedp.ActionFunc(func(ctx context.Context) error {
			return chromedp.CaptureScreenshot(&shot).Do(ctx)
		}),
	)
	if err := os.WriteFile(filepath.Join("..", "..", "docs", "screenshots", "wallet-history.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
}

package main

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/alumnipass/alumnipass/internal/browsertest"
	"github.com/alumnipass/alumnipass/internal/store"
)

// TestScanBrowserOffline: the scanner keeps keys.json and the status list;
// with the network cut (Chromium's offline emulation) it decides locally
// and says so: a live device-bound code is accepted, a screenshot of one is
// stale, a card whose revocation it synced is refused, a version 1 card is
// only "check" (its freshness cannot be known offline), and everything is
// refused once its data is older than 15 minutes. When the network returns
// it uploads its queue, and the server flags the code that had been shown
// at another venue.
func TestScanBrowserOffline(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	f, street := ts.newFixture("gold"), ts.newFixture("gold")
	ph, gone := ts.enrolPhone(t, "S0001"), ts.enrolPhone(t, "S0002")
	pairing := ts.must(ts.do("POST", "/api/v1/partners/"+f.PartnerID+"/pairing-codes", ts.HRToken,
		map[string]any{"name": "basement", "venue_id": f.VenueID}), 201)
	ctx := browsertest.New(t)
	var seq0 string
	browse(t, ctx, 30*time.Second,
		chromedp.Navigate(ts.URL+"/scan"),
		chromedp.WaitVisible(`#pair-code`, chromedp.ByID),
		chromedp.SendKeys(`#pair-code`, pairing.Str("code"), chromedp.ByID),
		chromedp.Click(`#pair-submit`, chromedp.ByID),
		chromedp.WaitVisible(`#offline-data[data-usable="true"]`, chromedp.ByQuery),
		chromedp.AttributeValue(`#offline-data`, "data-seq", &seq0, nil, chromedp.ByQuery),
	)
	// HR revokes a member; the scanner syncs the change (a delta) while online.
	m := ts.must(ts.do("GET", "/api/v1/members?q=S0002&limit=1", ts.HRToken, nil), 200)
	id := m.JSON["members"].([]any)[0].(map[string]any)["id"].(string)
	ts.must(ts.do("POST", "/api/v1/members/"+id+"/revoke", ts.HRToken, map[string]string{"reason": "退職時の合意"}), 200)
	n0, _ := strconv.Atoi(seq0)
	var seq string
	for deadline := time.Now().Add(15 * time.Second); ; {
		browse(t, ctx, 10*time.Second,
			chromedp.Evaluate(`dispatchEvent(new Event('online'))`, nil),
			chromedp.Sleep(300*time.Millisecond),
			chromedp.AttributeValue(`#offline-data`, "data-seq", &seq, nil, chromedp.ByQuery))
		if n, _ := strconv.Atoi(seq); n > n0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scanner did not sync the revocation: seq %s", seq)
		}
	}
	// The code the member shows in the basement was shown at the street venue a moment ago.
	now := time.Now()
	live := ph.code(t, ph.key, now)
	if r := ts.must(ts.do("POST", "/api/v1/verify", street.DeviceKey, map[string]string{"code": live}), 200); r.Str("result") != "valid" {
		t.Fatalf("street: %s", r.Body)
	}

	browse(t, ctx, 20*time.Second, network.EmulateNetworkConditions(true, 0, -1, -1))
	scan := func(code, want, tone string) {
		t.Helper()
		var result, gotTone, offline, detail string
		browse(t, ctx, 20*time.Second,
			chromedp.SendKeys(`#wedge`, code+"\r", chromedp.ByID),
			chromedp.WaitVisible(`#result`, chromedp.ByID),
			chromedp.AttributeValue(`#result`, "data-result", &result, nil, chromedp.ByID),
			chromedp.AttributeValue(`#result`, "data-tone", &gotTone, nil, chromedp.ByID),
			chromedp.AttributeValue(`#result`, "data-offline", &offline, nil, chromedp.ByID),
			chromedp.Text(`#result-detail`, &detail, chromedp.ByID),
			chromedp.KeyEvent("\x1b"),
			chromedp.WaitNotVisible(`#result`, chromedp.ByID),
		)
		if result != want || gotTone != tone || offline != "true" || detail == "" {
			t.Errorf("offline scan: %s/%s offline=%s %q, want %s/%s\n%s", result, gotTone, offline, detail, want, tone, pageState(ctx))
		}
		t.Logf("offline %s: %s", want, detail)
	}
	scan(live, "valid", "ok")
	scan(ph.code(t, ph.key, now.Add(-2*time.Minute)), "stale", "warn")
	scan(gone.code(t, gone.key, now), "revoked", "bad")
	scan(f.cardCode(t, now), "freshness_unknown", "warn")
	// Sixteen minutes later (the page's clock moved on), nothing is accepted.
	later := now.Add(16 * time.Minute)
	var usable string
	browse(t, ctx, 10*time.Second,
		chromedp.Evaluate(`(() => { const real = Date.now; Date.now = () => real() + 16 * 60 * 1000; window.__restoreNow = () => { Date.now = real; }; })()`, nil),
	)
	scan(ph.code(t, ph.key, later), "data_too_old", "bad")
	browse(t, ctx, 10*time.Second,
		chromedp.AttributeValue(`#offline-data`, "data-usable", &usable, nil, chromedp.ByQuery),
		chromedp.Evaluate(`window.__restoreNow()`, nil))
	if usable != "false" {
		t.Errorf("data 16 minutes old still shown as usable")
	}

	// The network returns: the queue goes up and the replay is flagged.
	var uploaded, differs string
	browse(t, ctx, 30*time.Second,
		network.EmulateNetworkConditions(false, 0, -1, -1),
		chromedp.Evaluate(`dispatchEvent(new Event('online'))`, nil),
		chromedp.WaitVisible(`body[data-offline-uploaded="5"]`, chromedp.ByQuery),
		chromedp.AttributeValue(`body`, "data-offline-differs", &differs, nil, chromedp.ByQuery),
		chromedp.AttributeValue(`body`, "data-offline-uploaded", &uploaded, nil, chromedp.ByQuery),
	)
	if n, _ := strconv.Atoi(differs); n < 1 {
		t.Errorf("uploaded %s scans, %s differing: the replay at the street venue was not flagged", uploaded, differs)
	}
}

// TestScanBrowserCameraV2: the scanner's camera reads a version 2 code
// (QR version 10-11 at level M, where version 1 needed 7-8) from a video
// framed as TestScanBrowserCamera frames a version 1 card, and the answer
// is valid.
func TestScanBrowserCameraV2(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	f := ts.newFixture("gold")
	ph := ts.enrolPhone(t, "C0001")
	now := time.Now()
	ts.Clock.Set(now)
	code := ph.code(t, ph.key, now)
	video := filepath.Join(t.TempDir(), "card-v2.y4m")
	writeQRVideo(t, video, code, 640, 480, 10, 30)
	ctx := browsertest.New(t,
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-video-capture", video),
	)
	key, err := json.Marshal(f.DeviceKey)
	if err != nil {
		t.Fatal(err)
	}
	var result string
	browse(t, ctx, 60*time.Second,
		chromedp.Navigate(ts.URL+"/healthz"),
		chromedp.Evaluate(`localStorage.setItem('ap.deviceKey', `+string(key)+`)`, nil),
		chromedp.Navigate(ts.URL+"/scan"),
		chromedp.WaitVisible(`#scan-video`, chromedp.ByID),
		chromedp.WaitVisible(`#result`, chromedp.ByID),
		chromedp.AttributeValue(`#result`, "data-result", &result, nil, chromedp.ByID),
	)
	if result != "valid" {
		t.Fatalf("the v2 card shown to the camera reads as %q\n%s", result, pageState(ctx))
	}
}

// TestScanBrowserReopenOffline: a paired scanner reopened with no network
// at all (the page reloaded in a basement) comes back from the service
// worker with its stored keys and status list, decides a live code offline,
// and uploads the scan once the network returns.
func TestScanBrowserReopenOffline(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	f := ts.newFixture("gold")
	ph := ts.enrolPhone(t, "R0001")
	pairing := ts.must(ts.do("POST", "/api/v1/partners/"+f.PartnerID+"/pairing-codes", ts.HRToken,
		map[string]any{"name": "basement", "venue_id": f.VenueID}), 201)
	origin, setOnline := switchableProxy(t, strings.TrimPrefix(ts.URL, "http://"))
	browser := browsertest.New(t)
	tab, closeTab := chromedp.NewContext(browser)
	if err := chromedp.Run(tab); err != nil {
		t.Fatal(err)
	}
	var cached bool
	browse(t, tab, 30*time.Second,
		chromedp.Navigate(origin+"/scan"),
		chromedp.WaitVisible(`#pair-code`, chromedp.ByID),
		chromedp.SendKeys(`#pair-code`, pairing.Str("code"), chromedp.ByID),
		chromedp.Click(`#pair-submit`, chromedp.ByID),
		chromedp.WaitVisible(`#offline-data[data-usable="true"]`, chromedp.ByQuery),
		evalAsync(`(async () => {
			for (let i = 0; i < 200; i++) {
				for (const name of await caches.keys()) {
					const c = await caches.open(name);
					if (await c.match('/scan') && await c.match('/static/js/offline.js')) return true;
				}
				await new Promise((r) => setTimeout(r, 50));
			}
			return false;
		})()`, &cached),
	)
	if !cached {
		t.Fatal("the service worker did not keep the scanner page")
	}
	closeTab()

	setOnline(false)
	tab, closeTab = chromedp.NewContext(browser)
	defer closeTab()
	if err := chromedp.Run(tab); err != nil {
		t.Fatal(err)
	}
	var result, offline string
	browse(t, tab, 30*time.Second,
		chromedp.Navigate(origin+"/scan"),
		chromedp.WaitVisible(`#offline-data[data-usable="true"]`, chromedp.ByQuery),
		chromedp.SendKeys(`#wedge`, ph.code(t, ph.key, time.Now())+"\r", chromedp.ByID),
		chromedp.WaitVisible(`#result`, chromedp.ByID),
		chromedp.AttributeValue(`#result`, "data-result", &result, nil, chromedp.ByID),
		chromedp.AttributeValue(`#result`, "data-offline", &offline, nil, chromedp.ByID),
	)
	if result != "valid" || offline != "true" {
		t.Fatalf("reopened offline: %s (offline %s)\n%s", result, offline, pageState(tab))
	}
	setOnline(true)
	browse(t, tab, 30*time.Second,
		chromedp.Evaluate(`dispatchEvent(new Event('online'))`, nil),
		chromedp.WaitVisible(`body[data-offline-uploaded="1"]`, chromedp.ByQuery),
	)
}

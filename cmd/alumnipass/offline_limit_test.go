package main

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/alumnipass/alumnipass/internal/browsertest"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// TestPartnerOfflineLimit: a partner sets how old its scanners' offline
// data may be (15 minutes until it does); devices learn it from
// devices/me; out-of-range values, other partners and viewers are refused;
// the change is audited with the value it replaced. Both databases.
func TestPartnerOfflineLimit(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		a, b := ts.newFixture("gold"), ts.newFixture("gold")
		if me := ts.must(ts.do("GET", "/api/v1/devices/me", a.DeviceKey, nil), 200); me.JSON["offline_max_age_seconds"] != float64(900) {
			t.Fatalf("default: %s", me.Body)
		}
		for _, bad := range []int{0, -5, 1441} {
			if r := ts.do("PUT", "/api/v1/partners/"+a.PartnerID+"/offline-limit", ts.HRToken, map[string]int{"minutes": bad}); r.Status != 400 || r.Code() != "invalid_offline_limit" {
				t.Errorf("%d minutes: %d %s", bad, r.Status, r.Body)
			}
		}
		ts.must(ts.do("PUT", "/api/v1/partners/"+a.PartnerID+"/offline-limit", ts.HRToken, map[string]int{"minutes": 5}), 200)
		if me := ts.must(ts.do("GET", "/api/v1/devices/me", a.DeviceKey, nil), 200); me.JSON["offline_max_age_seconds"] != float64(300) {
			t.Fatalf("after setting 5 minutes: %s", me.Body)
		}
		if me := ts.must(ts.do("GET", "/api/v1/devices/me", b.DeviceKey, nil), 200); me.JSON["offline_max_age_seconds"] != float64(900) {
			t.Fatalf("another partner's devices changed: %s", me.Body)
		}
		tokenA := ts.must(ts.do("POST", "/api/v1/partners/"+a.PartnerID+"/tokens", ts.HRToken, map[string]string{"name": "pos"}), 201).Str("key")
		ts.must(ts.do("PUT", "/api/v1/partners/"+a.PartnerID+"/offline-limit", tokenA, map[string]int{"minutes": 10}), 200)
		ts.must(ts.do("PUT", "/api/v1/partners/"+b.PartnerID+"/offline-limit", tokenA, map[string]int{"minutes": 10}), 404)
		ts.must(ts.do("PUT", "/api/v1/partners/"+a.PartnerID+"/offline-limit", a.DeviceKey, map[string]int{"minutes": 60}), 403)
		// The partner manager in the /partner console: the form shows the
		// current value and saves a new one; a value out of range is refused.
		pm := ts.consoleAs(model.RolePartnerManager, a.PartnerID)
		if page := pm.want(pm.get("/partner"), 200); !strings.Contains(page.Body, `id="offline-minutes" name="minutes" min="1" max="1440" required value="10"`) {
			t.Fatalf("the partner page does not show the limit: %.3000s", page.Body)
		}
		pm.want(pm.post("/partner/offline-limit", url.Values{"minutes": {"7"}}), 303, "/partner?msg=offline_limit_set")
		if bad := pm.post("/partner/offline-limit", url.Values{"minutes": {"abc"}}); bad.Status != 400 {
			t.Fatalf("minutes=abc: %d", bad.Status)
		}
		if me := ts.must(ts.do("GET", "/api/v1/devices/me", a.DeviceKey, nil), 200); me.JSON["offline_max_age_seconds"] != float64(420) {
			t.Fatalf("after the console: %s", me.Body)
		}
		audit := string(ts.must(ts.do("GET", "/api/v1/audit?action=partner.offline_limit", ts.HRToken, nil), 200).Body)
		if strings.Count(audit, `"partner.offline_limit"`) != 3 || !strings.Contains(audit, `{\"minutes\":\"15\"}`) {
			t.Fatalf("audit: %s", audit)
		}
	})
}

// TestScanBrowserLearnsOfflineLimit: a paired scanner takes its partner's
// offline limit from the server and keeps it for offline reloads.
func TestScanBrowserLearnsOfflineLimit(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	f := ts.newFixture("gold")
	ts.must(ts.do("PUT", "/api/v1/partners/"+f.PartnerID+"/offline-limit", ts.HRToken, map[string]int{"minutes": 3}), 200)
	pairing := ts.must(ts.do("POST", "/api/v1/partners/"+f.PartnerID+"/pairing-codes", ts.HRToken,
		map[string]any{"name": "basement", "venue_id": f.VenueID}), 201)
	ctx := browsertest.New(t)
	var limit, kept string
	browse(t, ctx, 30*time.Second,
		chromedp.Navigate(ts.URL+"/scan"),
		chromedp.WaitVisible(`#pair-code`, chromedp.ByID),
		chromedp.SendKeys(`#pair-code`, pairing.Str("code"), chromedp.ByID),
		chromedp.Click(`#pair-submit`, chromedp.ByID),
		chromedp.WaitVisible(`#offline-data[data-usable="true"]`, chromedp.ByQuery),
		chromedp.Poll(`document.body.dataset.offlineMaxAge || null`, &limit, chromedp.WithPollingTimeout(15*time.Second)),
		chromedp.Evaluate(`localStorage.getItem('ap.offlineMaxAgeMs') || ''`, &kept),
	)
	if limit != "180" || kept != "180000" {
		t.Fatalf("the scanner's offline limit: page %q, kept %q; want 180 s", limit, kept)
	}
}

package main

import (
	"bytes"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/alumnipass/alumnipass/internal/browsertest"
	"github.com/alumnipass/alumnipass/internal/store"
)

// TestOIDCBrowserOtherDevice: a member books on a laptop (a Chromium
// without the wallet) and confirms on their phone (another Chromium, at
// phone width, holding the wallet). First by the QR: the phone reads the
// QR off the laptop's screen and approves; then by the code, typed from
// the wallet's "sign in on another device" link. Each time the laptop's
// page goes on to the partner by itself, signed in as the member's
// pseudonym, with no password anywhere. UPDATE_SCREENSHOTS=1 writes
// docs/screenshots/oidc-other-device-{laptop,phone}.png.
func TestOIDCBrowserOtherDevice(t *testing.T) {
	ts := startServer(t, store.SQLite)
	f := ts.newFixture("gold")
	site := newPartnerSite(t, ts, f.PartnerID)
	want := ts.App.svc.Partners.Pseudonym(f.MemberID, f.PartnerID)

	laptop := browsertest.New(t)
	mobile := browsertest.New(t)
	browse(t, laptop, 10*time.Second, chromedp.EmulateViewport(1280, 860))
	browse(t, mobile, 10*time.Second,
		chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		network.SetCookie("ap_wallet", f.WalletToken).WithURL(ts.URL+"/").WithHTTPOnly(true).WithSameSite(network.CookieSameSiteStrict))

	// startOnLaptop clicks the partner's login and returns the code shown.
	start := func() string {
		var code string
		browse(t, laptop, 20*time.Second,
			chromedp.Navigate(site.URL+"/"),
			chromedp.Click(`#login`, chromedp.ByQuery),
			chromedp.WaitVisible(`#oidc-user-code`, chromedp.ByQuery),
			chromedp.Text(`#oidc-user-code`, &code, chromedp.ByQuery),
		)
		return strings.TrimSpace(code)
	}
	finished := func(how string) {
		t.Helper()
		browse(t, laptop, 20*time.Second, chromedp.WaitVisible(`#done`, chromedp.ByQuery))
		select {
		case r := <-site.Results:
			if r.Err != nil {
				t.Fatalf("%s: partner site: %v", how, r.Err)
			}
			if r.IDToken.Subject != want {
				t.Fatalf("%s: sub %q, want %q", how, r.IDToken.Subject, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the partner site got no callback", how)
		}
	}

	// By the QR, read off the laptop's screen as a camera would.
	code := start()
	screenshot(t, laptop, "oidc-other-device-laptop")
	var shot []byte
	browse(t, laptop, 10*time.Second, chromedp.Screenshot(`#oidc-qr`, &shot, chromedp.ByQuery))
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	link, err := decodeQRImage(img)
	if err != nil {
		t.Fatalf("the laptop's QR does not read: %v", err)
	}
	if want := ts.URL + "/oidc/device?code=" + strings.ReplaceAll(code, "-", ""); link != want {
		t.Fatalf("QR %q, want %q", link, want)
	}
	var shown string
	browse(t, mobile, 20*time.Second,
		chromedp.Navigate(link),
		chromedp.WaitVisible(`#oidc-device-code`, chromedp.ByQuery),
		chromedp.Text(`#oidc-device-code`, &shown, chromedp.ByQuery),
	)
	if strings.TrimSpace(shown) != code {
		t.Fatalf("the phone shows %q, the laptop %q", shown, code)
	}
	screenshot(t, mobile, "oidc-other-device-phone")
	browse(t, mobile, 20*time.Second,
		chromedp.Click(`#oidc-approve-btn`, chromedp.ByQuery),
		chromedp.WaitVisible(`#oidc-approved-elsewhere`, chromedp.ByQuery),
	)
	finished("by the QR")

	// By the code, typed into the wallet.
	code = start()
	browse(t, mobile, 20*time.Second,
		chromedp.Navigate(ts.URL+"/w"),
		chromedp.Click(`#signin-other-link`, chromedp.ByQuery),
		chromedp.WaitVisible(`#oidc-code`, chromedp.ByQuery),
		chromedp.SendKeys(`#oidc-code`, strings.ToLower(code), chromedp.ByQuery),
		chromedp.Click(`#oidc-code-btn`, chromedp.ByQuery),
		chromedp.WaitVisible(`#oidc-device-code`, chromedp.ByQuery),
		chromedp.Click(`#oidc-approve-btn`, chromedp.ByQuery),
		chromedp.WaitVisible(`#oidc-approved-elsewhere`, chromedp.ByQuery),
	)
	finished("by the typed code")

	// Declined on the phone: the laptop says so instead of waiting on.
	code = start()
	var gone string
	browse(t, mobile, 20*time.Second,
		chromedp.Navigate(ts.URL+"/oidc/device?code="+code),
		chromedp.WaitVisible(`#oidc-deny-btn`, chromedp.ByQuery),
		chromedp.Click(`#oidc-deny-btn`, chromedp.ByQuery),
		chromedp.WaitVisible(`#oidc-denied-elsewhere`, chromedp.ByQuery),
	)
	browse(t, laptop, 20*time.Second,
		chromedp.WaitVisible(`#oidc-wait.banner-bad`, chromedp.ByQuery),
		chromedp.Text(`#oidc-wait`, &gone, chromedp.ByQuery),
	)
	if !strings.Contains(gone, "declined") && !strings.Contains(gone, "拒否") {
		t.Fatalf("the laptop after the denial says %q", gone)
	}
}

package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/alumnipass/alumnipass/internal/browsertest"
	"github.com/alumnipass/alumnipass/internal/credential"
	"github.com/alumnipass/alumnipass/internal/store"
)

// TestWalletBrowserDeviceKeyNotCopyable: the wallet binds its card to a
// P-256 key it made with WebCrypto as non-extractable; the QR on the screen
// (read from the pixels by a QR decoder) is a version 2 code the server
// accepts; the key cannot be exported; and a copy of the wallet's stored
// data — its cookie and localStorage, in another browser — cannot produce a
// valid code: the page says so, the server will not make one, and the
// version 1 code the secret would have made is refused.
func TestWalletBrowserDeviceKeyNotCopyable(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	venue := ts.newFixture("gold")
	link := issueEnrolmentLink(t, ts, "gold")
	ctx := browsertest.New(t)
	var format string
	browse(t, ctx, 30*time.Second,
		chromedp.Navigate(link),
		chromedp.WaitVisible(`#enroll-form`, chromedp.ByQuery),
		chromedp.Click(`#enroll-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#card-qr[data-code]`, chromedp.ByQuery),
		chromedp.Poll(`document.body.dataset.cardFormat`, &format, chromedp.WithPollingTimeout(10*time.Second)),
	)
	code, _ := readCardQR(t, ctx)
	if !credential.IsV2(code) {
		t.Fatalf("the wallet shows %q, not a version 2 code", code)
	}
	t.Logf("v2 code of %d characters, QR read from the screen", len(code))
	if r := ts.must(ts.do("POST", "/api/v1/verify", venue.DeviceKey, map[string]any{"code": code}), 200); r.Str("result") != "valid" {
		t.Fatalf("the v2 code on the screen: %s", r.Body)
	}

	// The key in IndexedDB is a CryptoKey whose private half cannot leave.
	var keyState string
	browse(t, ctx, 10*time.Second, evalAsync(`(async () => {
		const id = JSON.parse(document.getElementById('page-data').textContent).card_id;
		const db = await new Promise((ok, no) => { const r = indexedDB.open('alumnipass', 1); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
		const rec = await new Promise((ok) => { const r = db.transaction('device').objectStore('device').get(id); r.onsuccess = () => ok(r.result); });
		let exported = 'exported';
		for (const f of ['pkcs8', 'jwk']) { try { await crypto.subtle.exportKey(f, rec.privateKey); } catch { exported = 'refused'; } }
		return [rec.privateKey.extractable, rec.privateKey.type, exported, rec.binding.format].join(',');
	})()`, &keyState))
	if keyState != "false,private,refused,2" {
		t.Fatalf("device key: %s, want non-extractable private key whose export is refused", keyState)
	}

	// Copy what the wallet keeps outside the key store into another browser.
	var cookies []*network.Cookie
	var local string
	browse(t, ctx, 10*time.Second,
		chromedp.ActionFunc(func(c context.Context) (err error) {
			cookies, err = network.GetCookies().Do(c)
			return err
		}),
		chromedp.Evaluate(`JSON.stringify(Object.assign({}, localStorage))`, &local),
	)
	var walletToken string
	for _, c := range cookies {
		if c.Name == "ap_wallet" {
			walletToken = c.Value
		}
	}
	if walletToken == "" {
		t.Fatal("no wallet cookie to copy")
	}
	thief := browsertest.New(t)
	var banner, drawn, page string
	browse(t, thief, 30*time.Second,
		chromedp.Navigate(ts.URL+"/healthz"),
		chromedp.ActionFunc(func(c context.Context) error {
			for _, ck := range cookies {
				if err := network.SetCookie(ck.Name, ck.Value).WithDomain(ck.Domain).WithPath(ck.Path).Do(c); err != nil {
					return err
				}
			}
			return nil
		}),
		chromedp.Evaluate(`(() => { const o = `+local+`; for (const k in o) localStorage.setItem(k, o[k]); return true; })()`, nil),
		chromedp.Navigate(ts.URL+"/w"),
		chromedp.WaitVisible(`#status-banner`, chromedp.ByID),
		chromedp.Text(`#status-text`, &banner, chromedp.ByID),
		chromedp.Evaluate(`document.getElementById('card-qr').dataset.code || ''`, &drawn),
		chromedp.Evaluate(`document.getElementById('page-data').textContent`, &page),
	)
	if drawn != "" || !strings.Contains(banner, "HR") {
		t.Fatalf("the copy drew %q, banner %q", drawn, banner)
	}
	if strings.Contains(page, `"secret_b32":"`) && !strings.Contains(page, `"secret_b32":""`) {
		t.Fatalf("the bound card's page carries its TOTP secret: %s", page)
	}
	ts.must(ts.do("GET", "/api/v1/wallet/code", walletToken, nil), 409)
}

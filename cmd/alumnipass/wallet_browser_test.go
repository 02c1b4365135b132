package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/alumnipass/alumnipass/internal/browsertest"
	"github.com/alumnipass/alumnipass/internal/credential"
	"github.com/alumnipass/alumnipass/internal/store"
)

// walletPageBudget is the most the wallet page may transfer on a first
// visit (DESIGN §7).
const walletPageBudget = 150 * 1024

// TestTOTPParityBrowser checks that the TOTP the wallet computes in the
// browser (static/js/totp.js on WebCrypto) is the RFC 6238 value that
// pquerna/otp computes, so a phone and the server agree on every step.
func TestTOTPParityBrowser(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	ctx := browsertest.New(t)

	b32 := base32.StdEncoding.WithPadding(base32.NoPadding)
	secrets := []string{
		b32.EncodeToString([]byte("12345678901234567890")), // RFC 6238 appendix B
		b32.EncodeToString(randomBytes(t, 10)),
		b32.EncodeToString(randomBytes(t, credential.TOTPSecretSize)),
		b32.EncodeToString(randomBytes(t, credential.TOTPSecretSize)),
		b32.EncodeToString(randomBytes(t, 32)),
		b32.EncodeToString(randomBytes(t, 100)), // longer than an HMAC block: hashed first
	}
	times := []int64{0, 29, 30, 59, 1111111109, 1111111111, 1234567890, 2000000000, 20000000000,
		130000000000, // a step count past 2^32: the high word of the counter is used
		time.Now().Unix()}
	type tcase struct {
		Secret string `json:"s"`
		Unix   int64  `json:"t"`
		want   string
	}
	var cases []tcase
	for _, s := range secrets {
		for _, sec := range times {
			want, err := totp.GenerateCodeCustom(s, time.Unix(sec, 0), totp.ValidateOpts{
				Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
			if err != nil {
				t.Fatal(err)
			}
			cases = append(cases, tcase{Secret: s, Unix: sec, want: want})
		}
	}
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	js := `(async (cases) => {
		const m = await import('/static/js/totp.js');
		const out = [];
		for (const c of cases) {
			const key = await m.importSecret(m.base32Decode(c.s));
			out.push(await m.totp(key, c.t));
		}
		return out;
	})(` + string(in) + `)`
	browse(t, ctx, 20*time.Second, chromedp.Navigate(ts.URL+"/healthz"), evalAsync(js, &got))
	if len(got) != len(cases) {
		t.Fatalf("browser computed %d values for %d cases", len(got), len(cases))
	}
	for i, c := range cases {
		if got[i] != c.want {
			t.Errorf("secret %s at %d: browser %q, pquerna/otp %q", c.Secret, c.Unix, got[i], c.want)
		}
	}

	// The code text the page assembles is the one the server would.
	var code string
	browse(t, ctx, 20*time.Second, evalAsync(`import('/static/js/totp.js').then((m) => m.cardCode('012345', 'SIGNED'))`, &code))
	if want := credential.CardCode("SIGNED", "012345"); code != want {
		t.Errorf("cardCode: browser %q, server %q", code, want)
	}
}

// TestWalletBrowserJourney follows an alumnus from HR's enrolment link to a
// card that keeps rotating with the network cut: each QR is read back from
// the screen's pixels and accepted by the verifier.
func TestWalletBrowserJourney(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	venue := ts.newFixture("gold") // a partner, a perk for every tier, a device key
	link := issueEnrolmentLink(t, ts, "gold")
	ctx := browsertest.New(t)

	// Enrol: open the link, consent, land on the wallet with the card drawn.
	var location string
	browse(t, ctx, 20*time.Second,
		chromedp.Navigate(link),
		chromedp.WaitVisible(`#enroll-form`, chromedp.ByQuery),
		chromedp.Click(`#enroll-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#card-qr[data-code]`, chromedp.ByQuery),
		chromedp.Location(&location),
	)
	if location != ts.URL+"/w" {
		t.Fatalf("after enrolment the browser is at %s, want %s/w", location, ts.URL)
	}

	first, firstStep := readCardQR(t, ctx)
	if r := ts.must(ts.do("POST", "/api/v1/verify", venue.DeviceKey, map[string]any{"code": first}), 200); r.Str("result") != "valid" {
		t.Fatalf("first code from the screen: %s", r.Body)
	}

	// Cut the network; the card must move on to the next step by itself.
	browse(t, ctx, 20*time.Second, network.EmulateNetworkConditions(true, 0, -1, -1))
	var reach string
	browse(t, ctx, 20*time.Second,
		evalAsync(`fetch('/api/v1/time', {cache: 'no-store'}).then(() => 'reached', () => 'unreachable')`, &reach),
		chromedp.WaitVisible(`#offline`, chromedp.ByID),
	)
	if reach != "unreachable" {
		t.Fatalf("the server is still %s with the network cut", reach)
	}
	// The step shown when the network went away; the next one must come.
	var offlineStep string
	browse(t, ctx, 5*time.Second, chromedp.AttributeValue(`#card-qr`, "data-step", &offlineStep, nil, chromedp.ByQuery))
	offlineAt := time.Now()
	waitAttrChange(t, ctx, `#card-qr`, "data-step", offlineStep, 45*time.Second)
	second, secondStep := readCardQR(t, ctx)
	t.Logf("offline for %s: step %s → %s", time.Since(offlineAt).Round(time.Millisecond), offlineStep, secondStep)
	if second == first || secondStep == firstStep {
		t.Fatalf("the offline card did not rotate: step %s → %s, code %q → %q", firstStep, secondStep, first, second)
	}

	// Back online, the code drawn offline is accepted.
	browse(t, ctx, 20*time.Second, network.EmulateNetworkConditions(false, 0, -1, -1))
	if r := ts.must(ts.do("POST", "/api/v1/verify", venue.DeviceKey, map[string]any{"code": second}), 200); r.Str("result") != "valid" {
		t.Fatalf("code drawn offline: %s", r.Body)
	}
}

// TestWalletBrowserEnrolmentLinkReuse checks that opening an enrolment link a
// second time says plainly that it was used, with HTTP 409.
func TestWalletBrowserEnrolmentLinkReuse(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	link := issueEnrolmentLink(t, ts, "silver")
	ctx := browsertest.New(t)
	browse(t, ctx, 20*time.Second,
		chromedp.Navigate(link),
		chromedp.Click(`#enroll-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#card-qr[data-code]`, chromedp.ByQuery),
	)

	// The headless browser asks for English; ?lang=ja is the switch on the page.
	for _, tc := range []struct{ url, says string }{
		{link, "already been used"},
		{link + "?lang=ja", "すでに使用されています"},
	} {
		var code, message string
		var forms int
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		resp, err := chromedp.RunResponse(rctx, chromedp.Navigate(tc.url))
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		browse(t, ctx, 20*time.Second,
			chromedp.WaitVisible(`#enroll-error`, chromedp.ByID),
			chromedp.AttributeValue(`#enroll-error`, "data-error-code", &code, nil, chromedp.ByID),
			chromedp.Text(`#enroll-error`, &message, chromedp.ByID),
			chromedp.Evaluate(`document.querySelectorAll('#enroll-form').length`, &forms),
		)
		if resp.Status != http.StatusConflict {
			t.Errorf("second use: HTTP %d, want 409", resp.Status)
		}
		if code != "enrollment_used" {
			t.Errorf("error code %q, want enrollment_used", code)
		}
		// Readable words, not a message key.
		if !strings.Contains(message, tc.says) || strings.Contains(message, "enroll.") {
			t.Errorf("message %q does not say plainly that the link was used (%q)", message, tc.says)
		}
		if forms != 0 {
			t.Errorf("a used link still offers the enrolment form")
		}
	}
}

// TestWalletBrowserPageWeight measures what a first visit to the wallet
// transfers and holds it to the budget (DESIGN §7). Two counts: the page's
// own responses as DevTools reports them (encoded bytes, headers included),
// and every byte the server sent on the wire until the service worker is in
// control, its install-time precache included. Both go into
// docs/benchmarks.md.
func TestWalletBrowserPageWeight(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	f := ts.newFixture("gold")
	origin, wireBytes := countingProxy(t, strings.TrimPrefix(ts.URL, "http://"))
	ctx := browsertest.New(t)

	var mu sync.Mutex
	sizes := map[network.RequestID]float64{}
	urls := map[network.RequestID]string{}
	chromedp.ListenTarget(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			urls[e.RequestID] = e.Request.URL
		case *network.EventLoadingFinished:
			sizes[e.RequestID] = e.EncodedDataLength
		}
	})
	var controlled bool
	browse(t, ctx, 20*time.Second,
		network.SetCookie("ap_wallet", f.WalletToken).WithURL(origin+"/"),
		chromedp.Navigate(origin+"/w"),
		chromedp.WaitVisible(`#card-qr[data-code]`, chromedp.ByQuery),
		evalAsync(`navigator.serviceWorker.ready.then(() => new Promise((resolve) => {
			if (navigator.serviceWorker.controller) resolve(true);
			else navigator.serviceWorker.addEventListener('controllerchange', () => resolve(true));
		}))`, &controlled),
	)
	time.Sleep(time.Second) // the last bytes in flight

	mu.Lock()
	defer mu.Unlock()
	var page float64
	n := 0
	for id, size := range sizes {
		if !strings.HasPrefix(urls[id], "http") {
			continue // data: URLs cost nothing
		}
		n++
		page += size
		t.Logf("%7.0f B  %s", size, strings.TrimPrefix(urls[id], origin))
	}
	wire := wireBytes()
	t.Logf("wallet page, first load: %d responses, %.0f B (%.1f KB) as DevTools counts; %d B (%.1f KB) on the wire with the service worker's precache; budget %d KB",
		n, page, page/1024, wire, float64(wire)/1024, walletPageBudget/1024)
	if n < 5 || wire < int64(page) {
		t.Fatalf("%d responses, %.0f B in DevTools and %d B on the wire: the measurement is broken", n, page, wire)
	}
	if page > walletPageBudget {
		t.Errorf("the wallet page transferred %.0f B, over the %d B budget", page, walletPageBudget)
	}
	if wire > walletPageBudget {
		t.Errorf("a first visit sent %d B with the service worker's precache, over the %d B budget", wire, walletPageBudget)
	}
}

// countingProxy forwards TCP connections to addr and counts the bytes that
// come back, so that traffic DevTools does not show on the page (the
// service worker's) is counted too. It returns the proxy's origin.
func countingProxy(t *testing.T, addr string) (origin string, bytesDown func() int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var down atomic.Int64
	var conns sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer conns.Done()
				defer c.Close()
				s, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer s.Close()
				go func() { _, _ = io.Copy(s, c) }()
				_, _ = io.Copy(c, countingReader{s, &down})
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return "http://" + ln.Addr().String(), down.Load
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// issueEnrolmentLink creates a member as HR does and issues their card,
// returning the enrolment link HR would send.
func issueEnrolmentLink(t *testing.T, ts *testServer, tier string) string {
	t.Helper()
	fixtureSeq.mu.Lock()
	fixtureSeq.n++
	n := fixtureSeq.n
	fixtureSeq.mu.Unlock()
	m := ts.must(ts.do("POST", "/api/v1/members", ts.HRToken, map[string]any{
		"employee_no": fmt.Sprintf("B%05d", n), "family_name": "佐藤", "given_name": "花子",
		"email": fmt.Sprintf("b%d@example.com", n), "tier": tier, "departed_on": "2025-03-31", "locale": "en"}), 201)
	card := ts.must(ts.do("POST", "/api/v1/members/"+m.Str("id")+"/cards", ts.HRToken, nil), 201)
	link := card.Str("enrollment_url")
	if !strings.HasPrefix(link, ts.URL+"/w/enroll/") {
		t.Fatalf("enrollment_url %q", link)
	}
	return link
}

// readCardQR screenshots the wallet's QR and decodes it from the pixels. It
// returns the text and the TOTP step the page says it shows; it checks that
// the pixels say what the page meant to draw.
func readCardQR(t *testing.T, ctx context.Context) (code, step string) {
	t.Helper()
	var drawn string
	// A screenshot taken while the canvas is being redrawn can be torn;
	// take another one, a few times, before calling it a failure.
	var lastErr error
	var size image.Point
	for try := 0; try < 10; try++ {
		var shot []byte
		var native string
		browse(t, ctx, 20*time.Second,
			chromedp.Screenshot(`#card-qr`, &shot, chromedp.ByQuery),
			chromedp.AttributeValue(`#card-qr`, "width", &native, nil, chromedp.ByQuery),
			chromedp.AttributeValue(`#card-qr`, "data-code", &drawn, nil, chromedp.ByQuery),
			chromedp.AttributeValue(`#card-qr`, "data-step", &step, nil, chromedp.ByQuery),
		)
		img, err := png.Decode(bytes.NewReader(shot))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		size = img.Bounds().Size()
		if code, lastErr = decodeQRImage(img); lastErr == nil {
			break
		}
		// The canvas is drawn in whole pixels per module and scaled to its
		// box, so on the screen modules are 6 or 7 pixels wide, and the
		// decoder misreads some codes that way. Sampled back to the
		// canvas's own size, the same screen pixels give even modules.
		if w, err := strconv.Atoi(native); err == nil && w > 0 && w != size.X {
			if code, lastErr = decodeQRImage(resample(img, w)); lastErr == nil {
				t.Logf("QR read after sampling the %v px screenshot back to %d px", size, w)
				break
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	if lastErr != nil {
		t.Fatalf("no QR code in ten screenshots of the card over 5 s (last %v px, step %s): %v", size, step, lastErr)
	}
	if code != drawn {
		// A redraw between the two reads; the pixels are the truth.
		t.Logf("screen shows %q, page data says %q", code, drawn)
	}
	if !strings.HasPrefix(code, credential.Prefix+"C") && !strings.HasPrefix(code, credential.PrefixV2+"C") {
		t.Fatalf("the wallet QR reads %q, not a card code", code)
	}
	return code, step
}

func decodeQRImage(img image.Image) (string, error) {
	// A screenshot of a canvas scaled to its box has modules of uneven
	// width; one way of reading it can fail where another succeeds, as a
	// phone's scanner tries several. The first that decodes wins.
	src := gozxing.NewLuminanceSourceFromImage(img)
	var firstErr error
	for _, bin := range []gozxing.Binarizer{gozxing.NewHybridBinarizer(src), gozxing.NewGlobalHistgramBinarizer(src)} {
		bmp, err := gozxing.NewBinaryBitmap(bin)
		if err != nil {
			return "", err
		}
		for _, hint := range []gozxing.DecodeHintType{gozxing.DecodeHintType_TRY_HARDER, gozxing.DecodeHintType_PURE_BARCODE} {
			res, err := gozxingqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{hint: true})
			if err == nil {
				return res.GetText(), nil
			}
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	return "", firstErr
}

// resample scales a square image to w×w pixels by taking the source pixel
// under the centre of each.
func resample(img image.Image, w int) image.Image {
	b := img.Bounds()
	out := image.NewGray(image.Rect(0, 0, w, w))
	for y := 0; y < w; y++ {
		for x := 0; x < w; x++ {
			sx := b.Min.X + (2*x+1)*b.Dx()/(2*w)
			sy := b.Min.Y + (2*y+1)*b.Dy()/(2*w)
			out.Set(x, y, img.At(sx, sy))
		}
	}
	return out
}

// waitAttrChange polls until an attribute differs from old.
func waitAttrChange(t *testing.T, ctx context.Context, sel, attr, old string, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var v string
		if err := chromedp.Run(ctx, chromedp.AttributeValue(sel, attr, &v, nil, chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if v != old {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s[%s] stayed %q for %s", sel, attr, old, limit)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// browse runs browser actions with a time limit; on failure it reports where
// the browser is and what the page says, so a failure can be read from the log.
func browse(t *testing.T, ctx context.Context, limit time.Duration, actions ...chromedp.Action) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	if err := chromedp.Run(sctx, actions...); err != nil {
		t.Fatalf("%v\n%s", err, pageState(ctx))
	}
}

// pageState describes the page for a failure message.
func pageState(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var url, text string
	if err := chromedp.Run(ctx, chromedp.Location(&url), chromedp.Evaluate(`document.body ? document.body.innerText : ''`, &text)); err != nil {
		return "page state unknown: " + err.Error()
	}
	if len(text) > 2000 {
		text = text[:2000] + "…"
	}
	return "page " + url + ":\n" + text
}

// evalAsync evaluates a JavaScript expression and awaits its promise.
func evalAsync(expr string, res any) chromedp.Action {
	return chromedp.Evaluate(expr, res, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	})
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// pageClockShift is a script run before any page script: it moves the page's
// clock (Date and performance.timeOrigin) forward by shiftMS, as if the
// phone had been put away and taken out again that much later.
func pageClockShift(shiftMS int64) string {
	return fmt.Sprintf(`(() => {
	const shift = %d;
	const Real = Date;
	const realNow = Real.now.bind(Real);
	class Shifted extends Real {
		constructor(...a) { if (a.length === 0) super(realNow() + shift); else super(...a); }
		static now() { return realNow() + shift; }
	}
	globalThis.Date = Shifted;
	const origin = performance.timeOrigin + shift;
	Object.defineProperty(performance, 'timeOrigin', { get: () => origin, configurable: true });
})();`, shiftMS)
}

// TestWalletBrowserReopenOffline is the basement restaurant: an alumnus
// enrols online, closes the tab, and reopens the wallet 65 seconds later with
// no signal. The service worker serves its copy of the page, which was
// fetched a moment after the one the alumnus saw; the card must still show a
// live code (read from the screen's pixels) that the scanner accepts. The
// 65 seconds pass on a shifted page clock and a shifted server clock, not
// by sleeping.
func TestWalletBrowserReopenOffline(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	venue := ts.newFixture("gold")
	link := issueEnrolmentLink(t, ts, "gold")
	origin, setOnline := switchableProxy(t, strings.TrimPrefix(ts.URL, "http://"))
	link = origin + strings.TrimPrefix(link, ts.URL)
	browser := browsertest.New(t)

	// Enrol online in a first tab, and wait until the service worker holds
	// its copy of the page and the wallet has measured its clock.
	tab, closeTab := chromedp.NewContext(browser)
	if err := chromedp.Run(tab); err != nil {
		t.Fatal(err)
	}
	var cached, measured bool
	browse(t, tab, 30*time.Second,
		chromedp.Navigate(link),
		chromedp.WaitVisible(`#enroll-form`, chromedp.ByQuery),
		chromedp.Click(`#enroll-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#card-qr[data-code]`, chromedp.ByQuery),
		evalAsync(`(async () => {
			for (let i = 0; i < 200; i++) {
				for (const name of await caches.keys()) {
					if (await (await caches.open(name)).match('/w')) return true;
				}
				await new Promise((r) => setTimeout(r, 50));
			}
			return false;
		})()`, &cached),
		evalAsync(`(async () => {
			for (let i = 0; i < 200; i++) {
				if (localStorage.getItem('ap.clock') || localStorage.getItem('ap.offset')) return true;
				await new Promise((r) => setTimeout(r, 50));
			}
			return false;
		})()`, &measured),
	)
	if !cached || !measured {
		t.Fatalf("after enrolment: page cached by the service worker %v, clock measured %v", cached, measured)
	}
	closeTab()

	// 65 seconds later, with no network, the wallet is opened again.
	const later = 65 * time.Second
	setOnline(false)
	tab, closeTab = chromedp.NewContext(browser)
	defer closeTab()
	if err := chromedp.Run(tab); err != nil {
		t.Fatal(err)
	}
	var clockState string
	browse(t, tab, 30*time.Second,
		chromedp.ActionFunc(func(ctx context.Context) error {
			_, err := page.AddScriptToEvaluateOnNewDocument(pageClockShift(later.Milliseconds())).Do(ctx)
			return err
		}),
		chromedp.Navigate(origin+"/w"),
		chromedp.WaitVisible(`#card-qr[data-code]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#offline`, chromedp.ByID),
		chromedp.Evaluate(`document.body.dataset.clock || ''`, &clockState),
	)
	code, step := readCardQR(t, tab)
	ts.Clock.Set(time.Now().Add(later))
	r := ts.must(ts.do("POST", "/api/v1/verify", venue.DeviceKey, map[string]any{"code": code}), 200)
	t.Logf("reopened offline %s later: step %s, clock %q, verify %s", later, step, clockState, r.Body)
	if r.Str("result") != "valid" {
		t.Fatalf("the code shown offline %s after enrolment was refused: %s", later, r.Body)
	}
}

// switchableProxy forwards TCP connections to addr until it is switched
// off; off, it drops every open connection and refuses new ones, as a phone
// in a basement would find the network. It returns the proxy's origin.
func switchableProxy(t *testing.T, addr string) (origin string, setOnline func(bool)) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	online := true
	open := map[net.Conn]bool{}
	track := func(c net.Conn) bool {
		mu.Lock()
		defer mu.Unlock()
		if !online {
			return false
		}
		open[c] = true
		return true
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !track(c) {
				c.Close()
				continue
			}
			go func() {
				defer c.Close()
				s, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				if !track(s) {
					s.Close()
					return
				}
				defer s.Close()
				go func() { _, _ = io.Copy(s, c) }()
				_, _ = io.Copy(c, s)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return "http://" + ln.Addr().String(), func(on bool) {
		mu.Lock()
		defer mu.Unlock()
		online = on
		if !on {
			for c := range open {
				c.Close()
			}
			open = map[net.Conn]bool{}
		}
	}
}

// TestWalletClockTrustBrowser checks when static/js/clock.js trusts an
// offset: only one measured by its own round trip, echoed by the server, and
// only while it can still be trusted.
func TestWalletClockTrustBrowser(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	ctx := browsertest.New(t)
	browse(t, ctx, 20*time.Second, chromedp.Navigate(ts.URL+"/healthz"))

	// Each case runs in the page with a fresh localStorage and answers
	// [source, offset] of a new ServerClock after its steps.
	const hour = 3600 * 1000
	cases := []struct {
		name, js   string
		wantSource string
		wantOffset func(float64) bool
	}{
		{"nothing stored", `c = new m.ServerClock();`, "none", func(o float64) bool { return o == 0 }},
		{"fresh measurement", `store({offset: 120000, rtt: 80, at: Date.now() - 60000}); c = new m.ServerClock();`,
			"stored", func(o float64) bool { return o == 120000 }},
		{"measurement a day old", `store({offset: 120000, rtt: 80, at: Date.now() - 25 * ` + fmt.Sprint(hour) + `}); c = new m.ServerClock();`,
			"none", func(o float64) bool { return o == 0 }},
		{"measured in the phone's future", `store({offset: 120000, rtt: 80, at: Date.now() + 600000}); c = new m.ServerClock();`,
			"none", func(o float64) bool { return o == 0 }},
		{"slow round trip", `store({offset: 120000, rtt: 9000, at: Date.now() - 1000}); c = new m.ServerClock();`,
			"none", func(o float64) bool { return o == 0 }},
		{"the old page-render keys", `localStorage.setItem('ap.offset', '-65000'); localStorage.setItem('ap.renderSeen', String(Date.now())); c = new m.ServerClock();`,
			"none", func(o float64) bool { return o == 0 }},
		{"measured against the server", `c = new m.ServerClock(); if (!(await c.sync())) throw new Error('sync failed');`,
			"measured", func(o float64) bool { return o > -1000 && o < 1000 }},
		{"measured with the phone 5 minutes slow", `shift(-300000); c = new m.ServerClock(); if (!(await c.sync())) throw new Error('sync failed');`,
			"measured", func(o float64) bool { return o > 299000 && o < 301000 }},
		{"an answer that does not echo the request (a cached copy)",
			`const f = window.fetch; window.fetch = async () => new Response(JSON.stringify({unix_ms: Date.now() - 65000, client_ms: 1}), {headers: {'Content-Type': 'application/json'}});
			 c = new m.ServerClock(); const ok = await c.sync(); window.fetch = f; if (ok) throw new Error('accepted');`,
			"none", func(o float64) bool { return o == 0 }},
		{"the phone's clock jumped after the measurement",
			`c = new m.ServerClock(); if (!(await c.sync())) throw new Error('sync failed'); shift(90000); c.now();
			 if (localStorage.getItem('ap.clock')) throw new Error('kept');`,
			"none", func(o float64) bool { return o == 0 }},
	}
	for _, tc := range cases {
		var got []any
		js := `(async () => {
			localStorage.clear();
			const RealDate = window.__RealDate || (window.__RealDate = Date);
			globalThis.Date = RealDate;
			const shift = (ms) => {
				const now = RealDate.now.bind(RealDate);
				globalThis.Date = class extends RealDate { static now() { return now() + ms; } };
			};
			const store = (v) => localStorage.setItem('ap.clock', JSON.stringify(v));
			const m = await import('/static/js/clock.js');
			let c;
			try { ` + tc.js + ` } finally { globalThis.Date = RealDate; }
			return [c.source, c.offset];
		})()`
		browse(t, ctx, 20*time.Second, evalAsync(js, &got))
		if len(got) != 2 {
			t.Fatalf("%s: page answered %v", tc.name, got)
		}
		src, _ := got[0].(string)
		off, _ := got[1].(float64)
		if src != tc.wantSource || !tc.wantOffset(off) {
			t.Errorf("%s: source %q, offset %.0f ms; want %q", tc.name, src, off, tc.wantSource)
		}
	}

	// The time endpoint echoes the client's clock and refuses a malformed one.
	r := ts.must(ts.do("GET", "/api/v1/time?client_ms=1775012399250", "", nil), 200)
	if v, _ := r.JSON["client_ms"].(float64); int64(v) != 1775012399250 {
		t.Errorf("client_ms echoed as %v", r.JSON["client_ms"])
	}
	if r := ts.must(ts.do("GET", "/api/v1/time?client_ms=soon", "", nil), 400); r.Code() != "invalid_client_ms" {
		t.Errorf("malformed client_ms: %s", r.Body)
	}
}

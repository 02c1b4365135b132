package main

import (
	"bufio"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/skip2/go-qrcode"

	"github.com/alumnipass/alumnipass/internal/browsertest"
	"github.com/alumnipass/alumnipass/internal/credential"
	"github.com/alumnipass/alumnipass/internal/store"
)

// okGreen is the scanner's "valid" background, --c-ok in app.css.
const okGreen = "rgb(10, 122, 51)"

// TestScanBrowserWedge pairs the scanner page with a pairing code, reads
// card codes typed by a keyboard-wedge handheld scanner, and records a
// redemption, as staff at a counter do.
func TestScanBrowserWedge(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	f := ts.newFixture("gold")
	pairing := ts.must(ts.do("POST", "/api/v1/partners/"+f.PartnerID+"/pairing-codes", ts.HRToken,
		map[string]any{"name": "front desk", "venue_id": f.VenueID}), 201)
	ctx := browsertest.New(t)

	browse(t, ctx, 20*time.Second,
		chromedp.Navigate(ts.URL+"/scan"),
		chromedp.WaitVisible(`#pair-code`, chromedp.ByID),
		chromedp.SendKeys(`#pair-code`, pairing.Str("code"), chromedp.ByID),
		chromedp.Click(`#pair-submit`, chromedp.ByID),
		chromedp.WaitVisible(`#wedge`, chromedp.ByID),
		chromedp.WaitNotVisible(`#pair`, chromedp.ByID),
	)

	// A valid card: green, the holder, one perk preselected; two people.
	var result, tone, bg, reason, name, party string
	browse(t, ctx, 20*time.Second,
		chromedp.SendKeys(`#wedge`, cardCodeAt(t, f, time.Now())+"\r", chromedp.ByID),
		chromedp.WaitVisible(`#result`, chromedp.ByID),
		chromedp.AttributeValue(`#result`, "data-result", &result, nil, chromedp.ByID),
	)
	if result != "valid" {
		t.Fatalf("a valid card reads as %q\n%s", result, pageState(ctx))
	}
	browse(t, ctx, 20*time.Second,
		chromedp.AttributeValue(`#result`, "data-tone", &tone, nil, chromedp.ByID),
		chromedp.Evaluate(`getComputedStyle(document.getElementById('result')).backgroundColor`, &bg),
		chromedp.Text(`#result-reason`, &reason, chromedp.ByID),
		chromedp.Text(`#result-name`, &name, chromedp.ByID),
		chromedp.WaitVisible(`#record`, chromedp.ByID),
		chromedp.Click(`#party-plus`, chromedp.ByID),
		chromedp.Text(`#party-size`, &party, chromedp.ByID),
	)
	if tone != "ok" || bg != okGreen {
		t.Errorf("valid answer: tone %q on %s, want ok on %s", tone, bg, okGreen)
	}
	if reason == "" || strings.Contains(reason, "scan.") {
		t.Errorf("valid answer says %q", reason)
	}
	if !strings.Contains(name, "山田") {
		t.Errorf("holder shown as %q", name)
	}
	if party != "2" {
		t.Fatalf("party size shows %q after one tap on +, want 2", party)
	}

	var recorded string
	browse(t, ctx, 20*time.Second,
		chromedp.Click(`#record`, chromedp.ByID),
		chromedp.WaitNotVisible(`#record`, chromedp.ByID), // hidden once the server has it
		chromedp.WaitVisible(`#recorded`, chromedp.ByID),
		chromedp.Text(`#recorded`, &recorded, chromedp.ByID),
	)
	if strings.Contains(recorded, "scan.") || recorded == "" {
		t.Errorf("after recording the page says %q", recorded)
	}
	assertRedemptions(t, ts, f, 1, 2)

	// A revoked member's code: red, the reason, nothing to record.
	other := ts.newFixture("gold")
	ts.must(ts.do("POST", "/api/v1/members/"+other.MemberID+"/revoke", ts.HRToken, map[string]any{"reason": "left the programme"}), 200)
	var redeemHidden bool
	browse(t, ctx, 20*time.Second,
		chromedp.KeyEvent("\x1b"), // Escape: back to ready, as staff dismiss an answer
		chromedp.WaitNotVisible(`#result`, chromedp.ByID),
		chromedp.SendKeys(`#wedge`, cardCodeAt(t, other, time.Now())+"\r", chromedp.ByID),
		chromedp.WaitVisible(`#result`, chromedp.ByID),
		chromedp.AttributeValue(`#result`, "data-result", &result, nil, chromedp.ByID),
		chromedp.AttributeValue(`#result`, "data-tone", &tone, nil, chromedp.ByID),
		chromedp.Text(`#result-reason`, &reason, chromedp.ByID),
		chromedp.Evaluate(`document.getElementById('redeem').hidden`, &redeemHidden),
	)
	if result != "revoked" {
		t.Errorf("a revoked member's card reads as %q", result)
	}
	if tone != "bad" || !redeemHidden {
		t.Errorf("revoked answer: tone %q, record offered %v", tone, !redeemHidden)
	}
	if reason == "" || strings.Contains(reason, "scan.") {
		t.Errorf("revoked answer says %q", reason)
	}
	assertRedemptions(t, ts, f, 1, 2)
}

// TestScanBrowserCamera shows the scanner a phone held up to its camera: a
// fake camera plays a video of a real card QR, and the page must read it
// and turn green.
func TestScanBrowserCamera(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	f := ts.newFixture("gold")
	// The server's clock stays at the moment the code in the video was
	// made, so the code is fresh however long the browser takes to read it.
	now := time.Now()
	ts.Clock.Set(now)
	code := cardCodeAt(t, f, now)
	video := filepath.Join(t.TempDir(), "card.y4m")
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
	var result, tone, bg string
	browse(t, ctx, 60*time.Second,
		// a paired device: the key the pairing would have stored
		chromedp.Navigate(ts.URL+"/healthz"),
		chromedp.Evaluate(`localStorage.setItem('ap.deviceKey', `+string(key)+`)`, nil),
		chromedp.Navigate(ts.URL+"/scan"),
		chromedp.WaitVisible(`#scan-video`, chromedp.ByID),
		chromedp.WaitVisible(`#result`, chromedp.ByID),
		chromedp.AttributeValue(`#result`, "data-result", &result, nil, chromedp.ByID),
		chromedp.AttributeValue(`#result`, "data-tone", &tone, nil, chromedp.ByID),
		chromedp.Evaluate(`getComputedStyle(document.getElementById('result')).backgroundColor`, &bg),
	)
	if result != "valid" {
		t.Fatalf("the card shown to the camera reads as %q\n%s", result, pageState(ctx))
	}
	if tone != "ok" || bg != okGreen {
		t.Errorf("camera answer: tone %q on %s, want ok on %s", tone, bg, okGreen)
	}
}

// cardCodeAt is the code a fixture's wallet shows at t.
func cardCodeAt(t *testing.T, f *fixture, at time.Time) string {
	t.Helper()
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(f.Secret)
	if err != nil {
		t.Fatalf("fixture secret: %v", err)
	}
	return credential.CardCode(f.SignedPart, credential.TOTP(secret, at))
}

// assertRedemptions checks the redemptions at the fixture's partner, in the
// database and in the partner's report.
func assertRedemptions(t *testing.T, ts *testServer, f *fixture, want, partySize int) {
	t.Helper()
	var n, size int
	q := ts.Store.DB().QueryRow(`SELECT COUNT(*), COALESCE(MAX(party_size), 0) FROM redemptions WHERE perk_id = ?`, f.PerkID)
	if err := q.Scan(&n, &size); err != nil {
		t.Fatal(err)
	}
	if n != want || (want > 0 && size != partySize) {
		t.Errorf("database: %d redemptions of party %d, want %d of %d", n, size, want, partySize)
	}
	r := ts.must(ts.do("GET", "/api/v1/partners/"+f.PartnerID+"/redemptions", ts.HRToken, nil), 200)
	if lines, _ := r.JSON["redemptions"].([]any); len(lines) != want {
		t.Errorf("partner report: %d redemptions, want %d: %s", len(lines), want, r.Body)
	}
}

// writeQRVideo writes a Y4M video (the format Chromium's fake camera plays)
// of a QR code held in front of the camera: frames frames at fps, greyscale
// in 4:2:0, the code drifting a little as in a hand.
func writeQRVideo(t *testing.T, path, text string, width, height, fps, frames int) {
	t.Helper()
	qr, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	side := height * 3 / 4
	img := qr.Image(side)
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(file)
	fmt.Fprintf(w, "YUV4MPEG2 W%d H%d F%d:1 Ip A1:1 C420jpeg\n", width, height, fps)
	luma := make([]byte, width*height)
	chroma := make([]byte, (width/2)*(height/2)*2)
	for i := range chroma {
		chroma[i] = 128 // no colour
	}
	for n := 0; n < frames; n++ {
		dx, dy := (n%7)-3, (n%5)-2
		drawFrame(luma, width, height, img, (width-side)/2+dx, (height-side)/2+dy)
		w.WriteString("FRAME\n")
		w.Write(luma)
		w.Write(chroma)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
}

// drawFrame paints a table-grey background with img at (x0, y0) into luma.
func drawFrame(luma []byte, width, height int, img image.Image, x0, y0 int) {
	b := img.Bounds()
	for y := 0; y < height; y++ {
		for x := 0; x < width; x++ {
			v := byte(150)
			if p := image.Pt(x-x0+b.Min.X, y-y0+b.Min.Y); p.In(b) {
				v = color.GrayModel.Convert(img.At(p.X, p.Y)).(color.Gray).Y
			}
			luma[y*width+x] = v
		}
	}
}

package main

import (
	"context"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/alumnipass/alumnipass/internal/i18n"
	"github.com/alumnipass/alumnipass/internal/jobs"
	"github.com/alumnipass/alumnipass/internal/mailer"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/static"
)

// heldSender is the outbox mailer with a gate: the first hold e-mails go
// out at once, the rest wait until the gate opens. It lets a test see a
// job stand still part-way, without timing guesses.
type heldSender struct {
	*mailer.Mailer
	hold int
	mu   sync.Mutex
	sent int
	gate chan struct{}
}

func (s *heldSender) Send(ctx context.Context, msg mailer.Message) (string, error) {
	s.mu.Lock()
	s.sent++
	n := s.sent
	s.mu.Unlock()
	if n > s.hold {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	return s.Mailer.Send(ctx, msg)
}

// startHeldInvitations runs the invitation worker of a test server on the
// outbox, holding every e-mail after the first hold until open is called.
func startHeldInvitations(t *testing.T, ts *testServer, hold int) (open func()) {
	t.Helper()
	m, err := newMailer(ts.App.cfg, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := i18n.Load(static.FS, "i18n")
	if err != nil {
		t.Fatal(err)
	}
	s := &heldSender{Mailer: m, hold: hold, gate: make(chan struct{})}
	letter := jobs.Letter{Catalog: cat, CompanyName: ts.App.cfg.CompanyName, CompanyNameEn: ts.App.cfg.CompanyNameEn}
	w := jobs.NewWorker(ts.Store, ts.App.svc.Jobs, ts.App.svc.Members, s, letter, ts.App.log, time.Now, jobs.WorkerOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	var once sync.Once
	openGate := func() { once.Do(func() { close(s.gate) }) }
	t.Cleanup(func() { openGate(); cancel(); <-done })
	return openGate
}

// TestConsoleBrowserBulkInvitation: HR imports 30 leavers through the
// import page, applies the file, presses "send enrolment invitations" and
// follows the job page: its progress bar stands at 10 of 30 while the
// mailer is held (the page's script moved it there), still shows 10 after
// a reload (server-rendered), and reaches 30 of 30 when the mail flows;
// the outbox then holds exactly one enrolment e-mail per member, to that
// member's address. At 360 px the page does not scroll sideways. With
// UPDATE_SCREENSHOTS=1 it writes docs/screenshots/admin-invitation*.png.
func TestConsoleBrowserBulkInvitation(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	email, pw := ts.newConsoleUser(model.RoleHR, "")
	ctx := consoleBrowser(t, chromedp.WindowSize(1280, 800), chromedp.Flag("lang", "ja-JP"))
	consoleBrowserSignIn(t, ctx, ts, email, pw)
	open := startHeldInvitations(t, ts, 10)

	const n = 30
	families := []string{"佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺"}
	givens := []string{"陽菜", "蓮", "結衣", "湊", "葵"}
	var csv strings.Builder
	csv.WriteString("社員番号,姓,名,メールアドレス,区分,退職日\n")
	want := map[string]bool{}
	for i := range n {
		addr := fmt.Sprintf("alumni%02d@example.jp", i+1)
		want[addr] = true
		fmt.Fprintf(&csv, "K%04d,%s,%s,%s,standard,2025-03-31\n", i+1, families[i%len(families)], givens[i%len(givens)], addr)
	}
	csvPath := filepath.Join(t.TempDir(), "退職者.csv")
	if err := os.WriteFile(csvPath, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	shots := os.Getenv("UPDATE_SCREENSHOTS") == "1"
	shot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			if !shots {
				return nil
			}
			var png []byte
			if err := chromedp.CaptureScreenshot(&png).Do(ctx); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join("..", "..", "docs", "screenshots", name+".png"), png, 0o644)
		})
	}

	var button, jobURL string
	consoleBrowse(t, ctx, 60*time.Second,
		chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(ts.URL+"/admin/import"),
		chromedp.WaitVisible(`#import-form`, chromedp.ByQuery),
		chromedp.SetUploadFiles(`#file`, []string{csvPath}, chromedp.ByQuery),
		chromedp.Click(`#import-preview`, chromedp.ByQuery),
		chromedp.WaitVisible(`#import-apply`, chromedp.ByQuery),
		chromedp.Click(`#import-apply`, chromedp.ByQuery),
		chromedp.WaitVisible(`#invite-import`, chromedp.ByQuery),
		chromedp.Text(`#invite-import`, &button, chromedp.ByQuery),
		chromedp.Click(`#invite-import`, chromedp.ByQuery),
		chromedp.WaitVisible(`#job-progress`, chromedp.ByQuery),
		chromedp.Location(&jobURL),
	)
	if !strings.Contains(button, "30") {
		t.Fatalf("invitation button %q", button)
	}
	if !strings.Contains(jobURL, "/admin/invitations/") {
		t.Fatalf("after the button: %s", jobURL)
	}

	// The held mailer lets 10 e-mails out: the script moves the bar there.
	var value, max int
	consoleBrowse(t, ctx, 60*time.Second,
		chromedp.Poll(`(() => { const b = document.getElementById('job-progress'); return b.value === 10 && b.max === 30 ? b.value : null; })()`,
			&value, chromedp.WithPollingTimeout(50*time.Second)),
		shot("admin-invitation"),
	)
	// A reload in the middle shows the same progress, rendered by the server
	// (read before the script's first poll, a second later).
	var afterReload struct {
		Value, Max, Sent int
		Status, Percent  string
	}
	consoleBrowse(t, ctx, 30*time.Second,
		chromedp.Reload(),
		chromedp.WaitVisible(`#job-progress`, chromedp.ByQuery),
		chromedp.Evaluate(`({Value: document.getElementById('job-progress').value, Max: document.getElementById('job-progress').max,
			Sent: Number(document.getElementById('count-sent').textContent), Status: document.getElementById('job').dataset.status,
			Percent: document.getElementById('job-percent').textContent})`, &afterReload),
	)
	if afterReload.Value != 10 || afterReload.Max != 30 || afterReload.Sent != 10 || afterReload.Status != "running" || afterReload.Percent != "33" {
		t.Fatalf("after a reload mid-job: %+v", afterReload)
	}

	open()
	// The script moves the bar to the end and then reloads the page, which
	// the server renders finished.
	waitDOMAcrossReloads(t, ctx, 90*time.Second, `(() => {
		const b = document.getElementById('job-progress'), s = document.getElementById('job-status');
		return !!(b && s && s.dataset.status === 'done' && b.value === 30 && b.max === 30);
	})()`)
	var status string
	consoleBrowse(t, ctx, 10*time.Second,
		chromedp.Evaluate(`document.getElementById('job-progress').max`, &max),
		chromedp.Text(`#count-sent`, &status, chromedp.ByQuery),
	)
	if max != 30 || strings.TrimSpace(status) != "30" {
		t.Fatalf("at the end: max %d, sent %q", max, status)
	}

	outbox := filepath.Join(ts.App.cfg.DataDir, "outbox")
	files, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	if len(files) != n {
		t.Fatalf("%d e-mails in the outbox, want %d", len(files), n)
	}
	var got []string
	for _, f := range files {
		raw, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(raw)
		if err != nil {
			t.Fatal(err)
		}
		to, err := mail.ParseAddress(msg.Header.Get("To"))
		raw.Close()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, to.Address)
		delete(want, to.Address)
	}
	if len(want) != 0 {
		sort.Strings(got)
		t.Fatalf("no e-mail to %v; the outbox has %v", want, got)
	}
	checkOutboxLinks(t, ts.Store, outbox) // one per member, each link the member's active card

	// At phone width the job page and the list fit the screen.
	var overflow []int
	consoleBrowse(t, ctx, 30*time.Second,
		chromedp.Navigate(ts.URL+"/admin/invitations"),
		chromedp.WaitVisible(`#jobs-table`, chromedp.ByQuery),
		shot("admin-invitations"),
		chromedp.EmulateViewport(360, 740),
		chromedp.Navigate(strings.Split(jobURL, "?")[0]),
		chromedp.WaitVisible(`#job-progress`, chromedp.ByQuery),
		chromedp.Evaluate(`[document.documentElement.scrollWidth, window.innerWidth, Math.ceil(document.getElementById('job-progress').getBoundingClientRect().right)]`, &overflow),
		shot("admin-invitation-phone"),
		chromedp.Navigate(ts.URL+"/admin/invitations"),
		chromedp.WaitVisible(`#jobs-table`, chromedp.ByQuery),
		chromedp.ActionFunc(func(ctx context.Context) error {
			var o []int
			if err := chromedp.Evaluate(`[document.documentElement.scrollWidth, window.innerWidth]`, &o).Do(ctx); err != nil {
				return err
			}
			overflow = append(overflow, o...)
			return nil
		}),
	)
	if overflow[0] > overflow[1] || overflow[2] > overflow[1] || overflow[3] > overflow[4] {
		t.Fatalf("at 360 px the pages are wider than the screen: job page %d (bar to %d), list %d, screen %d", overflow[0], overflow[2], overflow[3], overflow[1])
	}
}

// waitDOMAcrossReloads waits until a page's expression is true, asking
// again when the page reloads under the question (the job page's script
// reloads it when the job ends).
func waitDOMAcrossReloads(t *testing.T, ctx context.Context, limit time.Duration, expr string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	var lastErr error
	for time.Now().Before(deadline) {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		var ok bool
		lastErr = chromedp.Run(c, chromedp.Evaluate(expr, &ok))
		cancel()
		if lastErr == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	var body string
	c, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_ = chromedp.Run(c, chromedp.Text("body", &body, chromedp.ByQuery))
	t.Fatalf("after %s the page is still not %s (last error %v):\n%.1500s", limit, expr, lastErr, body)
}

// Package browsertest starts Debian's headless Chromium for page tests,
// driven by chromedp, with a fresh profile per test and the flags this
// closed-network machine needs. Without Chromium the test skips locally
// and fails under CI=true.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path finds the Chromium binary.
func Path() string {
	for _, p := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if p == "" {
			continue
		}
		if full, err := exec.LookPath(p); err == nil {
			return full
		}
	}
	return ""
}

// New returns a browser tab context that lives until the test ends.
// extra adds allocator options (a fake camera, a window size).
func New(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	bin := Path()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("Chromium is required in CI (apt-get install chromium); .ci/run installs it")
		}
		t.Skip("Chromium not installed: skipping browser test (apt-get install chromium)")
	}
	// The profile is removed after the browser has exited, with retries:
	// Chromium's helper processes may still be writing for a moment, and
	// t.TempDir would fail the test over it.
	profile, err := os.MkdirTemp("", "alumnipass-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := 0; i < 20; i++ {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(430, 932),
	}
	opts = append(opts, extra...)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelC := chromedp.NewContext(actx)
	// The first Run starts the browser; it must not carry a timeout, or the
	// timeout would end the browser. Later actions get the test's deadline.
	if err := chromedp.Run(bctx, chromedp.Navigate("about:blank")); err != nil {
		cancelC()
		cancelA()
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancelT := context.WithTimeout(bctx, 3*time.Minute)
	t.Cleanup(func() {
		cancelT()
		closeBrowser(bctx)
		cancelC()
		cancelA()
	})
	return ctx
}

// closeBrowser closes the browser and waits for it; a test may have closed
// it already (chromedp panics on a second close), which is fine.
func closeBrowser(ctx context.Context) {
	defer func() { _ = recover() }()
	_ = chromedp.Cancel(ctx)
}

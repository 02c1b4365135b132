package browsertest_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/alumnipass/alumnipass/internal/browsertest"
)

// TestChromiumRendersAPage proves the browser harness itself works, so a
// failing page test points at the page, not at the machine.
func TestChromiumRendersAPage(t *testing.T) {
	ctx := browsertest.New(t)
	var title string
	if err := chromedp.Run(ctx, chromedp.Navigate("data:text/html,<title>alumnipass</title>"), chromedp.Title(&title)); err != nil {
		t.Fatal(err)
	}
	if title != "alumnipass" {
		t.Fatalf("title %q", title)
	}
}

package public

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/wallet"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// downShared is a shared limit store that does not answer.
type downShared struct{}

var errDown = errors.New("connection refused")

func (downShared) Take(context.Context, string, int, time.Duration) (time.Time, bool, time.Duration, error) {
	return time.Time{}, false, 0, errDown
}
func (downShared) Refund(context.Context, string, time.Time) error { return errDown }
func (downShared) Blocked(string, string) (time.Duration, bool)    { return 0, false }
func (downShared) Fail(context.Context, string, int, time.Duration) error {
	return errDown
}

// enrolWallet counts enrolments; nothing else is called.
type enrolWallet struct {
	walletService
	enrolls int
}

func (w *enrolWallet) Enroll(context.Context, string, bool) (*wallet.Enrolment, error) {
	w.enrolls++
	return nil, errDown
}

// The enrolment page fails closed: when its limit cannot be counted the
// token is not tried, and the page says why in the visitor's language.
func TestEnrolPageFailsClosed(t *testing.T) {
	clock := func() time.Time { return now }
	w := &enrolWallet{}
	app := newTestAppLimits(t, w, httpkit.NewLimits(clock, downShared{}))
	req := httptest.NewRequest("POST", "/w/enroll/sometoken", strings.NewReader("consent=on"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Accept-Language", "ja")
	resp, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || !strings.Contains(string(body), "試行回数の確認ができない") {
		t.Errorf("enrolment with the limit down: %d %.300s", resp.StatusCode, body)
	}
	if w.enrolls != 0 {
		t.Errorf("the token was tried %d times with the limit down", w.enrolls)
	}
}

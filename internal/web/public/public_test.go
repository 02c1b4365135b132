package public

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/alumnipass/alumnipass/internal/config"
	"github.com/alumnipass/alumnipass/internal/i18n"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
	"github.com/alumnipass/alumnipass/static"
)

// The pages depend on the wallet's methods, so what a page shows is tested
// here with a stand-in; the journeys over real services are in
// cmd/alumnipass.

// passes answers one guest pass and its host; Open refuses every token.
type passes struct {
	walletService
	pass *model.GuestPass
	host *model.Member
}

func (p passes) GuestPass(_ context.Context, id string) (*model.GuestPass, *model.Member, error) {
	if id != p.pass.ID {
		return nil, nil, model.ErrNotFound
	}
	return p.pass, p.host, nil
}

var now = time.Date(2026, 11, 28, 18, 0, 0, 0, time.UTC)

func newTestApp(t *testing.T, w walletService) *fiber.App {
	t.Helper()
	clock := func() time.Time { return now }
	return newTestAppLimits(t, w, httpkit.NewLimits(clock, httpkit.NewLocalShared(clock)))
}

func newTestAppLimits(t *testing.T, w walletService, limits *httpkit.Limits) *fiber.App {
	t.Helper()
	cat, err := i18n.Load(static.FS, "i18n")
	if err != nil {
		t.Fatal(err)
	}
	render, err := httpkit.NewRenderer(cat, static.FS, false)
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return now }
	app := fiber.New(fiber.Config{ErrorHandler: httpkit.ErrorHandler{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Render: render}.Handle})
	h := New(Deps{Config: &config.Config{BaseURL: "https://example.test"}, Now: clock, Render: render, Static: static.FS,
		Limits: limits, Metrics: httpkit.NewMetrics(prometheus.NewRegistry()), Wallet: w})
	h.StaticRoutes(app)
	h.Routes(app)
	return app
}

var dataStatus = regexp.MustCompile(`data-status="([a-z_]+)"`)

// The guest page shows the state a guest meets at the door: a pass used
// up, past its end or of a host no longer a member is not shown as active.
func TestGuestPageStatus(t *testing.T) {
	for _, tc := range []struct {
		name         string
		uses         int
		until        time.Time
		stored, want string
		host         model.MemberStatus
	}{
		{"active", 0, now.Add(time.Hour), "active", "active", model.MemberActive},
		{"used up", 2, now.Add(time.Hour), "active", "used_up", model.MemberActive},
		{"past its end", 0, now, "active", "expired", model.MemberActive},
		{"host revoked", 0, now.Add(time.Hour), "active", "revoked", model.MemberRevoked},
		{"cancelled", 0, now.Add(time.Hour), "cancelled", "cancelled", model.MemberActive},
	} {
		p := passes{pass: &model.GuestPass{ID: "g-1", Code: "AP1:G", PartySize: 2, MaxUses: 2, Uses: tc.uses, Status: tc.stored,
			ValidFrom: now.Add(-time.Hour), ValidUntil: tc.until}, host: &model.Member{FamilyName: "山田", GivenName: "太郎", Status: tc.host}}
		resp, err := newTestApp(t, p).Test(httptest.NewRequest(http.MethodGet, "/g/g-1", nil))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := dataStatus.FindSubmatch(body)
		if resp.StatusCode != 200 || m == nil || string(m[1]) != tc.want {
			t.Errorf("%s: %d, status %q; want %q", tc.name, resp.StatusCode, m, tc.want)
		}
	}
}

func TestPublicPagesRefuse(t *testing.T) {
	app := newTestApp(t, passes{pass: &model.GuestPass{ID: "g-1"}})
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/g/unknown", 404},
		{"/w", 401}, // no wallet cookie
		{"/static/templates/layout.html", 404},
		{"/static/../static/i18n/ja.json", 404},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d; want %d", tc.path, resp.StatusCode, tc.status)
		}
	}
}

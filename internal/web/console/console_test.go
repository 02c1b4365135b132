package console

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/config"
	"github.com/alumnipass/alumnipass/internal/i18n"
	"github.com/alumnipass/alumnipass/internal/members"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
	"github.com/alumnipass/alumnipass/static"
)

// The consoles depend on the methods they call, so the session guard is
// tested here with stand-ins; the journeys through real sign-in, TOTP and
// both databases are in cmd/alumnipass.

// sessions knows one session per cookie value.
type sessions struct {
	consoleAuth
	byCookie map[string]*auth.Session
}

func (s sessions) Session(_ context.Context, cookie string) (*auth.Session, error) {
	if sess, ok := s.byCookie[cookie]; ok {
		return sess, nil
	}
	return nil, model.ErrUnauthorized
}

// creations records members created; nothing else is called by these tests.
type creations struct {
	memberService
	created []members.Input
}

func (m *creations) Create(_ context.Context, _ *model.Principal, in members.Input) (*model.Member, error) {
	m.created = append(m.created, in)
	return &model.Member{ID: "m-1"}, nil
}

func session(role string, mfa bool) *auth.Session {
	a := &model.Admin{ID: "a-" + role, Email: role + "@example.test", Role: role}
	if role == model.RolePartnerManager {
		pid := "p-1"
		a.PartnerID = &pid
	}
	return &auth.Session{Admin: a, CSRF: "csrf-" + role + strings.Repeat("x", 32), MFADone: mfa}
}

func newTestApp(t *testing.T) (*fiber.App, *creations, map[string]*auth.Session) {
	t.Helper()
	cat, err := i18n.Load(static.FS, "i18n")
	if err != nil {
		t.Fatal(err)
	}
	render, err := httpkit.NewRenderer(cat, static.FS, false)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	byCookie := map[string]*auth.Session{
		"hr": session(model.RoleHR, true), "viewer": session(model.RoleViewer, true),
		"pm": session(model.RolePartnerManager, true), "half": session(model.RoleHR, false),
	}
	m := &creations{}
	now := func() time.Time { return time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC) }
	app := fiber.New(fiber.Config{ErrorHandler: httpkit.ErrorHandler{Log: log, Render: render}.Handle})
	New(Deps{Config: &config.Config{BaseURL: "https://example.test"}, Log: log, Now: now, Render: render, Static: static.FS,
		Limits: httpkit.NewLimits(now, httpkit.NewLocalShared(now)), Metrics: httpkit.NewMetrics(prometheus.NewRegistry()),
		Auth: sessions{byCookie: byCookie}, Members: m}).Routes(app)
	return app, m, byCookie
}

func do(t *testing.T, app *fiber.App, method, path, cookie string, form url.Values) *http.Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
	}
	resp, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestConsoleGuard(t *testing.T) {
	app, _, _ := newTestApp(t)
	for _, tc := range []struct {
		name, path, cookie string
		status             int
		location           string
	}{
		{"no session", "/admin/members", "", 303, "/admin/login"},
		{"a dead cookie", "/admin/members", "gone", 303, "/admin/login"},
		{"second factor not done", "/admin/members", "half", 303, "/admin/2fa/setup"},
		{"a partner manager in the HR console", "/admin/members", "pm", 403, ""},
		{"HR in the partner console", "/partner/", "hr", 403, ""},
		{"a viewer on a form page", "/admin/members/new", "viewer", 403, ""},
		{"no session on the partner console", "/partner/", "", 303, "/admin/login"},
	} {
		resp := do(t, app, http.MethodGet, tc.path, tc.cookie, nil)
		if resp.StatusCode != tc.status || resp.Header.Get("Location") != tc.location {
			t.Errorf("%s: %d %q; want %d %q", tc.name, resp.StatusCode, resp.Header.Get("Location"), tc.status, tc.location)
		}
	}
}

// Every POST carries the session's CSRF token and a role that may write;
// a refused form never reaches the service.
func TestConsoleFormsNeedTokenAndWriter(t *testing.T) {
	app, m, byCookie := newTestApp(t)
	form := func(csrf string) url.Values {
		return url.Values{"_csrf": {csrf}, "employee_no": {"S0001"}, "family_name": {"山田"}, "given_name": {"太郎"}}
	}
	for _, tc := range []struct {
		name, cookie, csrf string
		status             int
	}{
		{"no session", "", "", 401},
		{"no token", "hr", "", 403},
		{"another session's token", "hr", byCookie["viewer"].CSRF, 403},
		{"a viewer with its token", "viewer", byCookie["viewer"].CSRF, 403},
	} {
		if resp := do(t, app, http.MethodPost, "/admin/members", tc.cookie, form(tc.csrf)); resp.StatusCode != tc.status {
			t.Errorf("%s: %d; want %d", tc.name, resp.StatusCode, tc.status)
		}
	}
	if len(m.created) != 0 {
		t.Fatalf("refused forms reached the service: %+v", m.created)
	}
	resp := do(t, app, http.MethodPost, "/admin/members", "hr", form(byCookie["hr"].CSRF))
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/admin/members/m-1?msg=member_created" || len(m.created) != 1 || m.created[0].FamilyName != "山田" {
		t.Errorf("HR with its token: %d %q, created %+v", resp.StatusCode, resp.Header.Get("Location"), m.created)
	}
}

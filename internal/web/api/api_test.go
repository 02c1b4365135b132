package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/alumnipass/alumnipass/internal/config"
	"github.com/alumnipass/alumnipass/internal/members"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/verify"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// The API depends on the methods it calls, so it is tested here with
// stand-ins for the services; the end-to-end journeys over real services
// and both databases are in cmd/alumnipass.

// tokens admits "device" as a venue key and "hr" as an HR token.
type tokens struct{}

func (tokens) Bearer(_ context.Context, tok string) (*model.Principal, error) {
	switch tok {
	case "device":
		return &model.Principal{Kind: "device", ID: "key-1", Role: model.RoleDevice}, nil
	case "hr":
		return &model.Principal{Kind: "token", ID: "tok-1", Role: model.RoleHR}, nil
	}
	return nil, model.ErrUnauthorized
}

// scans answers every code with one result and counts the calls.
type scans struct {
	result string
	calls  int
}

func (s *scans) Verify(_ context.Context, _ *model.Principal, _ string) (*verify.Decision, error) {
	s.calls++
	return &verify.Decision{Result: s.result, CheckedAt: time.Now()}, nil
}

func (s *scans) VerifyOffline(ctx context.Context, p *model.Principal, code string, _ time.Time) (*verify.Decision, error) {
	return s.Verify(ctx, p, code)
}

// memberList records the filter it is asked for; the other methods are
// not called by these tests (the embedded nil interface would panic).
type memberList struct {
	memberService
	got   *members.MemberFilter
	calls int
}

func (m *memberList) List(_ context.Context, f members.MemberFilter) ([]model.Member, string, error) {
	m.calls++
	m.got = &f
	return []model.Member{}, "", nil
}

func newTestApp(t *testing.T, d Deps) *fiber.App {
	t.Helper()
	now := func() time.Time { return time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC) }
	d.Config, d.Now = &config.Config{BaseURL: "https://example.test"}, now
	d.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	if d.Limits == nil {
		d.Limits = httpkit.NewLimits(now, httpkit.NewLocalShared(now))
	}
	d.Metrics, d.Auth = httpkit.NewMetrics(prometheus.NewRegistry()), tokens{}
	app := fiber.New(fiber.Config{ErrorHandler: httpkit.ErrorHandler{Log: d.Log}.Handle})
	New(d).Routes(app)
	return app
}

func call(t *testing.T, app *fiber.App, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// Refused codes count against the key: past its budget every scan is 429,
// decided before the code is checked, so the answer says nothing of it.
func TestVerifyThrottleDecidesBeforeChecking(t *testing.T) {
	v := &scans{result: model.ResultInvalid}
	app := newTestApp(t, Deps{Verifier: v})
	for i := range 60 {
		if status, out := call(t, app, http.MethodPost, "/api/v1/verify", "device", `{"code":"AP1:forged"}`); status != 200 || out["result"] != model.ResultInvalid {
			t.Fatalf("scan %d: %d %v", i+1, status, out)
		}
	}
	v.result = model.ResultValid
	status, out := call(t, app, http.MethodPost, "/api/v1/verify", "device", `{"code":"AP1:right"}`)
	if status != http.StatusTooManyRequests || v.calls != 60 {
		t.Fatalf("scan 61: %d %v after %d checks; want 429 without a check", status, out, v.calls)
	}
	if e, _ := out["error"].(map[string]any); e["code"] != "rate_limited" {
		t.Errorf("429 body: %v", out)
	}
}

// A valid answer gives its place back: a venue's busy evening is no guess.
func TestVerifyValidScansDoNotCount(t *testing.T) {
	v := &scans{result: model.ResultValid}
	app := newTestApp(t, Deps{Verifier: v})
	for i := range 100 {
		if status, _ := call(t, app, http.MethodPost, "/api/v1/verify", "device", `{"code":"AP1:x"}`); status != 200 {
			t.Fatalf("valid scan %d: %d", i+1, status)
		}
	}
}

func TestVerifyNeedsADeviceKey(t *testing.T) {
	v := &scans{result: model.ResultValid}
	app := newTestApp(t, Deps{Verifier: v})
	if status, _ := call(t, app, http.MethodPost, "/api/v1/verify", "", `{"code":"AP1:x"}`); status != 401 {
		t.Errorf("no token: %d", status)
	}
	if status, _ := call(t, app, http.MethodPost, "/api/v1/verify", "hr", `{"code":"AP1:x"}`); status != 403 {
		t.Errorf("an HR token: %d", status)
	}
	if v.calls != 0 {
		t.Errorf("the verifier was asked %d times for callers it must refuse", v.calls)
	}
}

// The query becomes the service's filter; a bad limit is refused before
// the service is asked.
func TestListMembersFilter(t *testing.T) {
	m := &memberList{}
	app := newTestApp(t, Deps{Members: m})
	status, out := call(t, app, http.MethodGet, "/api/v1/members?q=%E9%AB%99%E6%A9%8B&status=active&tier=gold&cursor=S0100&limit=20", "hr", "")
	want := members.MemberFilter{Query: "髙橋", Status: "active", Tier: "gold", After: "S0100", Limit: 20}
	if status != 200 || m.got == nil || *m.got != want {
		t.Fatalf("%d %v: filter %+v; want %+v", status, out, m.got, want)
	}
	if out["next_cursor"] != nil {
		t.Errorf("next_cursor on the last page: %v", out["next_cursor"])
	}
	for _, bad := range []string{"0", "201", "ten"} {
		status, out := call(t, app, http.MethodGet, "/api/v1/members?limit="+bad, "hr", "")
		if e, _ := out["error"].(map[string]any); status != 400 || e["code"] != "invalid_limit" {
			t.Errorf("limit=%s: %d %v", bad, status, out)
		}
	}
	if m.calls != 1 {
		t.Errorf("the service was asked %d times; bad limits must not reach it", m.calls)
	}
}

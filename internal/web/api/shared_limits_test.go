package api

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// sharedSpy is a Shared over LocalShared that counts what would be
// database round trips (Take, Refund, Fail), can fail them all (a database
// down), and can block keys as other instances would.
type sharedSpy struct {
	*httpkit.LocalShared
	trips   atomic.Int64
	down    bool
	blocked map[string]bool
}

func (s *sharedSpy) Take(ctx context.Context, key string, max int, period time.Duration) (time.Time, bool, time.Duration, error) {
	s.trips.Add(1)
	if s.down {
		return time.Time{}, false, 0, errors.New("connection refused")
	}
	return s.LocalShared.Take(ctx, key, max, period)
}

func (s *sharedSpy) Refund(ctx context.Context, key string, window time.Time) error {
	s.trips.Add(1)
	return s.LocalShared.Refund(ctx, key, window)
}

func (s *sharedSpy) Fail(ctx context.Context, key string, max int, period time.Duration) error {
	s.trips.Add(1)
	if s.down {
		return errors.New("connection refused")
	}
	return s.LocalShared.Fail(ctx, key, max, period)
}

func (s *sharedSpy) Blocked(kind, id string) (time.Duration, bool) {
	if s.blocked[kind+":"+id] {
		return 42 * time.Second, true
	}
	return s.LocalShared.Blocked(kind, id)
}

func newSpyApp(t *testing.T, v *scans, spy *sharedSpy) func(method, path, token, body string) (int, map[string]any) {
	now := func() time.Time { return time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC) }
	spy.LocalShared = httpkit.NewLocalShared(now)
	app := newTestApp(t, Deps{Verifier: v, Limits: httpkit.NewLimits(now, spy)})
	return func(method, path, token, body string) (int, map[string]any) {
		return call(t, app, method, path, token, body)
	}
}

// A valid scan pays no database round trip for the throttle: the shared
// blocks are looked up in memory, and only failures are counted.
func TestVerifyValidScanCostsNoSharedRoundTrip(t *testing.T) {
	spy := &sharedSpy{}
	do := newSpyApp(t, &scans{result: model.ResultValid}, spy)
	for i := range 100 {
		if status, _ := do(http.MethodPost, "/api/v1/verify", "device", `{"code":"AP1:x"}`); status != 200 {
			t.Fatalf("valid scan %d: %d", i+1, status)
		}
	}
	if n := spy.trips.Load(); n != 0 {
		t.Errorf("100 valid scans made %d shared (database) calls; want 0", n)
	}
}

// A refused code is counted in the shared store; if it cannot be counted
// the answer is withheld (503 rate_limit_unavailable), not sent uncounted.
func TestVerifyFailureCountedOrWithheld(t *testing.T) {
	spy := &sharedSpy{}
	do := newSpyApp(t, &scans{result: model.ResultInvalid}, spy)
	if status, out := do(http.MethodPost, "/api/v1/verify", "device", `{"code":"AP1:forged"}`); status != 200 || out["result"] != model.ResultInvalid {
		t.Fatalf("refused code: %d %v", status, out)
	}
	if n := spy.trips.Load(); n != 1 {
		t.Errorf("a refused code made %d shared calls; want 1 (the key's failure)", n)
	}
	spy.down = true
	status, out := do(http.MethodPost, "/api/v1/verify", "device", `{"code":"AP1:forged"}`)
	if e, _ := out["error"].(map[string]any); status != 503 || e["code"] != "rate_limit_unavailable" {
		t.Errorf("a failure that cannot be counted: %d %v; want 503 rate_limit_unavailable", status, out)
	}
}

// A key blocked on another instance is refused before its code is
// checked, whatever the code.
func TestVerifyKeyBlockedElsewhere(t *testing.T) {
	v := &scans{result: model.ResultValid}
	spy := &sharedSpy{blocked: map[string]bool{"vkey:key-1": true}}
	do := newSpyApp(t, v, spy)
	status, out := do(http.MethodPost, "/api/v1/verify", "device", `{"code":"AP1:right"}`)
	if e, _ := out["error"].(map[string]any); status != 429 || e["code"] != "rate_limited" || v.calls != 0 {
		t.Errorf("a key blocked elsewhere: %d %v after %d checks; want 429 without a check", status, out, v.calls)
	}
}

// The rare requests fail closed: when their limit cannot be counted they
// are not tried.
func TestSharedLimitFailsClosed(t *testing.T) {
	spy := &sharedSpy{down: true}
	do := newSpyApp(t, &scans{}, spy)
	for _, path := range []string{"/api/v1/wallet/enroll", "/api/v1/devices/pair"} {
		status, out := do(http.MethodPost, path, "", `{"token":"x","code":"x"}`)
		if e, _ := out["error"].(map[string]any); status != 503 || e["code"] != "rate_limit_unavailable" {
			t.Errorf("%s with the limit down: %d %v; want 503 rate_limit_unavailable", path, status, out)
		}
	}
}

// Uploaded offline scans meet the same guessing limit: a key blocked
// elsewhere uploads nothing (429 before any code is checked), and each
// refused code of an upload is counted; a count that cannot be written
// withholds the answer.
func TestOfflineUploadMeetsTheGuessingLimit(t *testing.T) {
	body := `{"scans":[{"code":"AP1:a","scanned_at":"2026-11-28T08:59:00Z"},{"code":"AP1:b","scanned_at":"2026-11-28T08:59:10Z"},{"code":"AP1:c","scanned_at":"2026-11-28T08:59:20Z"}]}`

	v := &scans{result: model.ResultInvalid}
	spy := &sharedSpy{}
	do := newSpyApp(t, v, spy)
	if status, out := do(http.MethodPost, "/api/v1/verify/offline", "device", body); status != 200 {
		t.Fatalf("upload of 3 refused codes: %d %v", status, out)
	}
	if n := spy.trips.Load(); n != 3 {
		t.Errorf("3 refused codes made %d shared calls; want 3 (one failure each)", n)
	}

	spy.down = true
	status, out := do(http.MethodPost, "/api/v1/verify/offline", "device", body)
	if e, _ := out["error"].(map[string]any); status != 503 || e["code"] != "rate_limit_unavailable" {
		t.Errorf("failures that cannot be counted: %d %v; want 503 rate_limit_unavailable", status, out)
	}

	blockedV := &scans{result: model.ResultValid}
	blocked := &sharedSpy{blocked: map[string]bool{"vkey:key-1": true}}
	doBlocked := newSpyApp(t, blockedV, blocked)
	status, out = doBlocked(http.MethodPost, "/api/v1/verify/offline", "device", body)
	if e, _ := out["error"].(map[string]any); status != 429 || e["code"] != "rate_limited" || blockedV.calls != 0 {
		t.Errorf("a blocked key's upload: %d %v after %d checks; want 429 without a check", status, out, blockedV.calls)
	}

	valid := &scans{result: model.ResultValid}
	spyValid := &sharedSpy{}
	doValid := newSpyApp(t, valid, spyValid)
	if status, _ := doValid(http.MethodPost, "/api/v1/verify/offline", "device", body); status != 200 || spyValid.trips.Load() != 0 {
		t.Errorf("an upload of valid scans: %d with %d shared calls; want 200 and none", status, spyValid.trips.Load())
	}
}

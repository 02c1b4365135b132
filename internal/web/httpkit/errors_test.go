package httpkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/alumnipass/alumnipass/internal/model"
)

// answer runs err through the error handler on an API path and decodes
// what a client gets.
func answer(t *testing.T, err error) (int, http.Header, APIErrorBody) {
	t.Helper()
	app := fiber.New(fiber.Config{ErrorHandler: ErrorHandler{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}.Handle})
	app.Get("/api/v1/x", func(c *fiber.Ctx) error { return err })
	resp, terr := app.Test(httptest.NewRequest(http.MethodGet, "/api/v1/x", nil))
	if terr != nil {
		t.Fatal(terr)
	}
	defer resp.Body.Close()
	var out APIError
	if derr := json.NewDecoder(resp.Body).Decode(&out); derr != nil {
		t.Fatalf("%v: the answer is not the error shape: %v", err, derr)
	}
	return resp.StatusCode, resp.Header, out.Error
}

func TestErrorHandlerMapsSentinels(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("member 7: %w", model.ErrNotFound), 404, "not_found"},
		{fmt.Errorf("x: %w", model.ErrConflict), 409, "conflict"},
		{fmt.Errorf("x: %w", model.ErrInvalid), 400, "invalid"},
		{fmt.Errorf("x: %w", model.ErrUnauthorized), 401, "unauthorized"},
		{fmt.Errorf("x: %w", model.ErrForbidden), 403, "forbidden"},
		{fmt.Errorf("x: %w", model.ErrLimit), 409, "limit_reached"},
		{fmt.Errorf("x: %w", model.ErrUnavailable), 503, "unavailable"},
		{model.Invalidf("email", "invalid_email", "email is not an address"), 400, "invalid_email"},
		{fiber.ErrRequestEntityTooLarge, 413, "body_too_large"},
		{fiber.ErrMethodNotAllowed, 405, "method_not_allowed"},
	} {
		status, _, body := answer(t, tc.err)
		if status != tc.status || body.Code != tc.code || body.Message == "" {
			t.Errorf("%v: %d %+v; want %d %s with a message", tc.err, status, body, tc.status, tc.code)
		}
	}
	if _, _, body := answer(t, model.Invalidf("email", "invalid_email", "email is not an address")); body.Field != "email" {
		t.Errorf("a problem's field is lost: %+v", body)
	}
}

// An unexpected error is a 500 that tells nothing of the cause but the
// request id; a 429 says when to come back.
func TestErrorHandlerHidesInternals(t *testing.T) {
	status, _, body := answer(t, errors.New("pq: password authentication failed for user secret"))
	if status != 500 || body.Code != "internal" || body.Message != DefaultMessage("internal") {
		t.Errorf("internal error answered %d %+v", status, body)
	}
	status, h, body := answer(t, fmt.Errorf("x: %w", model.ErrRateLimited))
	if status != 429 || body.Code != "rate_limited" || h.Get("Retry-After") == "" || body.RetryAfter == 0 {
		t.Errorf("rate limited answered %d %v %+v", status, h, body)
	}
}

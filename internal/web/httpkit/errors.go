// Package httpkit is what the three surfaces of internal/web (api, console,
// public) share: the one error handler and error shape, page rendering and
// the language choice, rate limits and body limits, CSRF tokens, the
// request's principal and id, and the HTTP metrics.
package httpkit

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/alumnipass/alumnipass/internal/model"
)

// APIError is the one error shape of the API.
type APIError struct {
	Error APIErrorBody `json:"error"`
}

// APIErrorBody is the error object inside APIError.
type APIErrorBody struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	Field      string `json:"field,omitempty"`
	RequestID  string `json:"request_id,omitempty"`
	RetryAfter int    `json:"retry_after,omitempty"`
}

// StatusOf maps a sentinel kind to an HTTP status.
func StatusOf(err error) (int, string) {
	switch {
	case errors.Is(err, model.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, model.ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, model.ErrInvalid):
		return http.StatusBadRequest, "invalid"
	case errors.Is(err, model.ErrUnauthorized):
		return http.StatusUnauthorized, "unauthorized"
	case errors.Is(err, model.ErrForbidden):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, model.ErrLimit):
		return http.StatusConflict, "limit_reached"
	case errors.Is(err, model.ErrRateLimited):
		return http.StatusTooManyRequests, "rate_limited"
	case errors.Is(err, model.ErrUnavailable):
		return http.StatusServiceUnavailable, "unavailable"
	}
	return http.StatusInternalServerError, "internal"
}

// DefaultMessage is the message of a generic error code.
func DefaultMessage(code string) string {
	switch code {
	case "not_found":
		return "Nothing was found at this address."
	case "conflict":
		return "This conflicts with the current state; reload and try again."
	case "invalid":
		return "The request is not valid."
	case "unauthorized":
		return "Sign in or send a valid Authorization: Bearer token."
	case "forbidden":
		return "Your role does not allow this."
	case "limit_reached":
		return "A usage limit has been reached."
	case "rate_limited":
		return "Too many attempts; wait a moment and try again."
	case "unavailable":
		return "The service cannot answer right now; try again shortly."
	case "internal":
		return "Something went wrong on our side. It has been logged; quote the request id if you contact support."
	case "method_not_allowed":
		return "This method is not allowed here."
	case "body_too_large":
		return "The request body is too large."
	}
	return ""
}

// ErrorHandler is the only place that turns errors into responses (the
// app's fiber.Config.ErrorHandler). It never sends internals: 5xx answers
// carry a fixed message and the request id. Browsers asking for a page get
// the error page.
type ErrorHandler struct {
	Log    *slog.Logger
	Render *Renderer
}

// Handle turns err into the answer.
func (h ErrorHandler) Handle(c *fiber.Ctx, err error) error {
	rid, _ := c.Locals("requestid").(string)
	body := APIErrorBody{RequestID: rid}
	status := http.StatusInternalServerError
	var fe *fiber.Error
	var p *model.Problem
	switch {
	case errors.As(err, &p):
		status, body.Code = StatusOf(p)
		body.Code, body.Message, body.Field = p.Code, p.Message, p.Field
	case errors.As(err, &fe):
		status = fe.Code
		switch fe.Code {
		case http.StatusNotFound:
			body.Code = "not_found"
		case http.StatusMethodNotAllowed:
			body.Code = "method_not_allowed"
		case http.StatusRequestEntityTooLarge:
			body.Code = "body_too_large"
		case http.StatusTooManyRequests:
			body.Code = "rate_limited"
		default:
			body.Code = "bad_request"
			if fe.Code >= 500 {
				body.Code = "internal"
			}
		}
		body.Message = DefaultMessage(body.Code)
		if body.Message == "" && fe.Code < 500 {
			body.Message = fe.Message
		}
	default:
		status, body.Code = StatusOf(err)
		body.Message = DefaultMessage(body.Code)
	}
	if status >= 500 {
		level := slog.LevelError
		if status == http.StatusServiceUnavailable {
			level = slog.LevelWarn
		}
		h.Log.Log(c.UserContext(), level, "request failed", "request_id", rid, "method", c.Method(), "path", c.Path(), "status", status, "err", err)
		if status != http.StatusServiceUnavailable { // a 503 says what is unavailable, never internals
			body.Code, body.Message = "internal", DefaultMessage("internal")
		}
	}
	if status == http.StatusTooManyRequests {
		c.Set("Retry-After", "60")
		body.RetryAfter = 60
	}
	if WantsHTML(c) && status != http.StatusTooManyRequests {
		return h.Render.Error(c, status, body.Code, body.Message)
	}
	return c.Status(status).JSON(APIError{Error: body})
}

// WantsHTML is true for page routes asked by a browser.
func WantsHTML(c *fiber.Ctx) bool {
	p := c.Path()
	if len(p) >= 5 && (p[:5] == "/api/" || p == "/healthz" || p == "/readyz" || p == "/metrics") {
		return false
	}
	// Without an Accept header (API clients; errors raised before routing,
	// whose path is unknown) the answer is JSON; browsers ask for HTML.
	return c.Accepts("application/json", "text/html") == "text/html"
}

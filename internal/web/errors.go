package web

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/alumnipass/alumnipass/internal/model"
)

// apiError is the one error shape of the API.
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	Field      string `json:"field,omitempty"`
	RequestID  string `json:"request_id,omitempty"`
	RetryAfter int    `json:"retry_after,omitempty"`
}

// statusOf maps a sentinel kind to an HTTP status.
func statusOf(err error) (int, string) {
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

// defaultMessage is the message of a generic error code.
func defaultMessage(code string) string {
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

// errorHandler is the only place that turns errors into responses. It never
// sends internals: 5xx answers carry a fixed message and the request id.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	rid, _ := c.Locals("requestid").(string)
	body := apiErrorBody{RequestID: rid}
	status := http.StatusInternalServerError
	var fe *fiber.Error
	var p *model.Problem
	switch {
	case errors.As(err, &p):
		status, body.Code = statusOf(p)
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
		body.Message = defaultMessage(body.Code)
		if body.Message == "" && fe.Code < 500 {
			body.Message = fe.Message
		}
	default:
		status, body.Code = statusOf(err)
		body.Message = defaultMessage(body.Code)
	}
	if status >= 500 {
		level := slog.LevelError
		if status == http.StatusServiceUnavailable {
			level = slog.LevelWarn
		}
		s.log.Log(c.UserContext(), level, "request failed", "request_id", rid, "method", c.Method(), "path", c.Path(), "status", status, "err", err)
		if body.Code != "unavailable" {
			body.Code, body.Message = "internal", defaultMessage("internal")
		}
	}
	if status == http.StatusTooManyRequests {
		c.Set("Retry-After", "60")
		body.RetryAfter = 60
	}
	if s.wantsHTML(c) && status != http.StatusTooManyRequests {
		return s.renderError(c, status, body.Code, body.Message)
	}
	return c.Status(status).JSON(apiError{Error: body})
}

// wantsHTML is true for page routes asked by a browser.
func (s *Server) wantsHTML(c *fiber.Ctx) bool {
	p := c.Path()
	if len(p) >= 5 && (p[:5] == "/api/" || p == "/healthz" || p == "/readyz" || p == "/metrics") {
		return false
	}
	// Without an Accept header (API clients; errors raised before routing,
	// whose path is unknown) the answer is JSON; browsers ask for HTML.
	return c.Accepts("application/json", "text/html") == "text/html"
}

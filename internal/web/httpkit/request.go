package httpkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/alumnipass/alumnipass/internal/model"
)

const principalKey = "principal"

// Principal returns the authenticated caller set by SetPrincipal (an API
// token or a console session).
func Principal(c *fiber.Ctx) *model.Principal {
	p, _ := c.Locals(principalKey).(*model.Principal)
	return p
}

// SetPrincipal records the authenticated caller of this request.
func SetPrincipal(c *fiber.Ctx, p *model.Principal) { c.Locals(principalKey, p) }

// RequestID is the request's id (X-Request-Id), set by the requestid
// middleware.
func RequestID(c *fiber.Ctx) string {
	rid, _ := c.Locals("requestid").(string)
	return rid
}

// WalletCookie carries an enrolled wallet's token (the wallet page and the
// wallet API).
const WalletCookie = "ap_wallet"

// BearerToken is the token of an Authorization: Bearer header.

func BearerToken(c *fiber.Ctx) (string, bool) {
	h := c.Get(fiber.HeaderAuthorization)
	if len(h) < 8 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	tok := strings.TrimSpace(h[7:])
	return tok, tok != ""
}

// MaxJSONBody bounds a JSON request body: the largest real one (a perk with
// a long description) is a few KB. CSV imports keep the server-wide limit.
const MaxJSONBody = 64 << 10

// BindJSON decodes a JSON object body strictly enough to give a clear error:
// a body that is not JSON, not an object, or has trailing data is refused.
func BindJSON(c *fiber.Ctx, v any) error { return BindJSONUpTo(c, v, MaxJSONBody) }

// BindJSONUpTo is BindJSON for a route whose body may be larger than
// MaxJSONBody, up to max (a list of members: MaxListBody).
func BindJSONUpTo(c *fiber.Ctx, v any, max int) error {
	if !IsJSONType(c) { // a missing type too, as documented
		return model.NewProblem(model.ErrInvalid, "unsupported_media_type", "Send the body as application/json.")
	}
	body := c.Body()
	if len(body) > max {
		return fiber.ErrRequestEntityTooLarge
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return model.NewProblem(model.ErrInvalid, "invalid_json", "The request body is empty; send a JSON object.")
	}
	if trimmed[0] != '{' || !utf8.Valid(body) {
		return model.NewProblem(model.ErrInvalid, "invalid_json", "The request body must be a JSON object in UTF-8.")
	}
	if depth(body) > 16 {
		return model.NewProblem(model.ErrInvalid, "invalid_json", "The JSON body is nested too deeply.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return model.Invalidf(te.Field, "invalid_field", fmt.Sprintf("%s must be a %s", te.Field, te.Type.String()))
		}
		return model.NewProblem(model.ErrInvalid, "invalid_json", "The request body is not a valid JSON object.")
	}
	if dec.More() {
		return model.NewProblem(model.ErrInvalid, "invalid_json", "The request body has data after the JSON object.")
	}
	return nil
}

// IsJSONType tells whether the request says its body is JSON
// (application/json, any parameters, any case).
func IsJSONType(c *fiber.Ctx) bool {
	ct := c.Request().Header.ContentType()
	return len(ct) >= 16 && strings.EqualFold(string(ct[:16]), "application/json")
}

// depth is the deepest nesting of brackets outside strings.
func depth(b []byte) int {
	d, maxD, inStr, esc := 0, 0, false, false
	for _, ch := range b {
		switch {
		case esc:
			esc = false
		case inStr && ch == '\\':
			esc = true
		case ch == '"':
			inStr = !inStr
		case inStr:
		case ch == '{' || ch == '[':
			d++
			maxD = max(maxD, d)
		case ch == '}' || ch == ']':
			d--
		}
	}
	return maxD
}

// Created answers 201 with v as JSON.
func Created(c *fiber.Ctx, v any) error { return c.Status(fiber.StatusCreated).JSON(v) }

// TooMany is the 429 of a rate limit, with Retry-After.
func TooMany(c *fiber.Ctx, wait time.Duration) error {
	secs := max(int(wait.Seconds()+0.999), 1)
	c.Set("Retry-After", strconv.Itoa(secs))
	return c.Status(fiber.StatusTooManyRequests).JSON(APIError{Error: APIErrorBody{Code: "rate_limited",
		Message: "Too many attempts; wait " + strconv.Itoa(secs) + " seconds and try again.", RetryAfter: secs}})
}

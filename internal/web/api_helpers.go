package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/alumnipass/alumnipass/internal/model"
)

const principalKey = "principal"

// principal returns the authenticated caller set by bearer or a session.
func principal(c *fiber.Ctx) *model.Principal {
	p, _ := c.Locals(principalKey).(*model.Principal)
	return p
}

// bearer authenticates an API key and checks its role.
func (s *Server) bearer(roles ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		tok, ok := bearerToken(c)
		if !ok {
			return model.NewProblem(model.ErrUnauthorized, "unauthorized", "Send Authorization: Bearer <token>.")
		}
		p, err := s.svc.Auth.Bearer(c.UserContext(), tok)
		if err != nil {
			if errors.Is(err, model.ErrUnauthorized) {
				var pr *model.Problem
				if errors.As(err, &pr) {
					return err
				}
				return model.NewProblem(model.ErrUnauthorized, "unauthorized", "The token is not valid.")
			}
			return err
		}
		if !p.Can(roles...) {
			return model.NewProblem(model.ErrForbidden, "forbidden", "This token's role ("+p.Role+") may not do this.")
		}
		p.RequestID, _ = c.Locals("requestid").(string)
		c.Locals(principalKey, p)
		return c.Next()
	}
}

func bearerToken(c *fiber.Ctx) (string, bool) {
	h := c.Get(fiber.HeaderAuthorization)
	if len(h) < 8 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	tok := strings.TrimSpace(h[7:])
	return tok, tok != ""
}

// maxJSONBody bounds a JSON request body: the largest real one (a perk with
// a long description) is a few KB. CSV imports keep the server-wide limit.
const maxJSONBody = 64 << 10

// bindJSON decodes a JSON object body strictly enough to give a clear error:
// a body that is not JSON, not an object, or has trailing data is refused.
func bindJSON(c *fiber.Ctx, v any) error {
	if !isJSONType(c) { // a missing type too, as documented
		return model.NewProblem(model.ErrInvalid, "unsupported_media_type", "Send the body as application/json.")
	}
	body := c.Body()
	if len(body) > maxJSONBody {
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

// isJSONType tells whether the request says its body is JSON
// (application/json, any parameters, any case).
func isJSONType(c *fiber.Ctx) bool {
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

func created(c *fiber.Ctx, v any) error { return c.Status(fiber.StatusCreated).JSON(v) }

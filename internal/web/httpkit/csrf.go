package httpkit

import (
	"crypto/subtle"

	"github.com/gofiber/fiber/v2"

	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/model"
)

const csrfCookie = "ap_csrf"

// CSRFToken returns the double-submit token of this browser, setting the
// cookie (Secure when secure) the first time. Public forms (enrolment, the
// console's sign-in) and the wallet's script send it back as _csrf or
// X-CSRF-Token; a signed-in console uses its session's own.
func CSRFToken(c *fiber.Ctx, secure bool) string {
	if v := c.Cookies(csrfCookie); len(v) >= 32 {
		return v
	}
	tok, _, err := auth.NewToken("")
	if err != nil {
		return ""
	}
	c.Cookie(&fiber.Cookie{Name: csrfCookie, Value: tok, Path: "/", HTTPOnly: true, Secure: secure, SameSite: "Strict"})
	return tok
}

// CheckCSRF compares the submitted token with the cookie in constant time.
func CheckCSRF(c *fiber.Ctx) error {
	want := c.Cookies(csrfCookie)
	got := SubmittedCSRF(c)
	if len(want) < 32 || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
		return model.NewProblem(model.ErrForbidden, "csrf", "This form has expired. Reload the page and try again.")
	}
	return nil
}

// SubmittedCSRF is the token a form or a script sent back: the
// X-CSRF-Token header or the _csrf field of a POSTed form (URL-encoded or
// multipart). Never the query string: a token in a URL ends up in access
// logs, browser history and Referer headers, and c.FormValue would take it
// from there.
func SubmittedCSRF(c *fiber.Ctx) string {
	if v := c.Get("X-CSRF-Token"); v != "" {
		return v
	}
	if v := c.Request().PostArgs().Peek("_csrf"); len(v) > 0 {
		return string(v)
	}
	if form, err := c.MultipartForm(); err == nil {
		if vs := form.Value["_csrf"]; len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

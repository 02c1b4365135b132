package web

import (
	"crypto/subtle"

	"github.com/gofiber/fiber/v2"

	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/model"
)

const csrfCookie = "ap_csrf"

// csrfToken returns the double-submit token of this browser, setting the
// cookie the first time. Public forms (enrolment) and the wallet's script
// send it back as _csrf or X-CSRF-Token; the console uses its session's own.
func (s *Server) csrfToken(c *fiber.Ctx) string {
	if v := c.Cookies(csrfCookie); len(v) >= 32 {
		return v
	}
	tok, _, err := auth.NewToken("")
	if err != nil {
		return ""
	}
	c.Cookie(&fiber.Cookie{Name: csrfCookie, Value: tok, Path: "/", HTTPOnly: true, Secure: s.cfg.CookieSecure, SameSite: "Strict"})
	return tok
}

// checkCSRF compares the submitted token with the cookie in constant time.
func (s *Server) checkCSRF(c *fiber.Ctx) error {
	want := c.Cookies(csrfCookie)
	got := c.Get("X-CSRF-Token")
	if got == "" {
		got = c.FormValue("_csrf")
	}
	if len(want) < 32 || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
		return model.NewProblem(model.ErrForbidden, "csrf", "This form has expired. Reload the page and try again.")
	}
	return nil
}

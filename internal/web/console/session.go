package console

import (
	"context"
	"errors"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// sessionCookie carries a console session (HR and partner managers).
const sessionCookie = "ap_session"

// The two consoles.
const (
	consoleHR      = "admin"
	consolePartner = "partner"
)

// loadSession resolves the session cookie; nil when there is none or it is
// no longer valid.
func (h *Handler) loadSession(c *fiber.Ctx) (*auth.Session, error) {
	v := c.Cookies(sessionCookie)
	if v == "" {
		return nil, nil
	}
	sess, err := h.auth.Session(c.UserContext(), utils.CopyString(v))
	if errors.Is(err, model.ErrUnauthorized) {
		return nil, nil
	}
	return sess, err
}

func (h *Handler) setSessionCookie(c *fiber.Ctx, value string) {
	c.Cookie(&fiber.Cookie{Name: sessionCookie, Value: value, Path: "/", HTTPOnly: true, Secure: h.cfg.CookieSecure,
		SameSite: "Strict", Expires: h.now().Add(auth.SessionTTL)})
}

func (h *Handler) clearSessionCookie(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: sessionCookie, Value: "", Path: "/", HTTPOnly: true, Secure: h.cfg.CookieSecure,
		SameSite: "Strict", MaxAge: -1, Expires: time.Unix(0, 0)})
}

// landing is where a console user starts: partner managers on /partner,
// HR roles on /admin.
func consoleLanding(a *model.Admin) string {
	if a.Role == model.RolePartnerManager {
		return "/partner"
	}
	return "/admin"
}

// secondFactorURL is the page that completes a session's sign-in.
func consoleSecondFactorURL(a *model.Admin) string {
	if a.TOTPEnabled {
		return "/admin/2fa"
	}
	return "/admin/2fa/setup"
}

// toLogin sends a browser without a session to the sign-in page; anything
// but a GET is refused outright.
func (h *Handler) toLogin(c *fiber.Ctx) error {
	if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
		return h.render.Error(c, fiber.StatusUnauthorized, "unauthorized", "Please sign in first.")
	}
	return c.Redirect("/admin/login", fiber.StatusSeeOther)
}

// csrfRefused is the 403 page for a form without the right token.
func (h *Handler) csrfRefused(c *fiber.Ctx) error {
	return h.render.Error(c, fiber.StatusForbidden, "csrf", "This form has expired. Reload the page and try again.")
}

// consoleGuard admits a request to one console: a session whose second
// factor is done, a role that belongs to the console, and on a POST the
// session's CSRF token and a role that may change things.
func (h *Handler) consoleGuard(console string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		sess, err := h.loadSession(c)
		if err != nil {
			return err
		}
		if sess == nil {
			return h.toLogin(c)
		}
		if !sess.MFADone {
			if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
				return h.render.Error(c, fiber.StatusUnauthorized, "unauthorized", "Please finish signing in first.")
			}
			return c.Redirect(consoleSecondFactorURL(sess.Admin), fiber.StatusSeeOther)
		}
		c.Locals(consoleSessionKey, sess)
		role := sess.Admin.Role
		switch console {
		case consoleHR:
			if role != model.RoleAdmin && role != model.RoleHR && role != model.RoleViewer {
				return h.consoleForbidden(c, "admin.forbidden.wrong_console")
			}
		case consolePartner:
			if role != model.RolePartnerManager || sess.Admin.PartnerID == nil {
				return h.consoleForbidden(c, "admin.forbidden.wrong_console")
			}
		}
		if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
			if !sess.CheckCSRF(httpkit.SubmittedCSRF(c)) {
				return h.csrfRefused(c)
			}
			if role == model.RoleViewer {
				return h.consoleForbidden(c, "admin.forbidden.read_only")
			}
		}
		rid, _ := c.Locals("requestid").(string)
		httpkit.SetPrincipal(c, sess.Principal(rid))
		return c.Next()
	}
}

// consoleForbidden is a 403 page inside the console, saying why.
func (h *Handler) consoleForbidden(c *fiber.Ctx, key string) error {
	lang := h.render.Lang(c)
	page := map[string]any{"Message": h.cat.T(lang, key), "Home": "/admin/login"}
	if sess := consoleSession(c); sess != nil {
		page["Home"] = consoleLanding(sess.Admin)
	}
	return h.consolePage(c, fiber.StatusForbidden, "admin_forbidden", "", page, consoleNotice{})
}

// consoleWriter admits only roles that may change things (a viewer's
// forms would be refused anyway; it does not get to see them).
func (h *Handler) consoleWriter(c *fiber.Ctx) error {
	if sess := consoleSession(c); sess == nil || sess.Admin.Role == model.RoleViewer {
		return h.consoleForbidden(c, "admin.forbidden.read_only")
	}
	return c.Next()
}

// consoleRole admits only the given roles.
func (h *Handler) consoleRole(roles ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if sess := consoleSession(c); sess == nil || !sess.Principal("").Can(roles...) {
			return h.consoleForbidden(c, "admin.forbidden.role")
		}
		return c.Next()
	}
}

// consoleSignedIn admits a session that has passed the password, for the
// second-factor pages and sign-out; POSTs carry the session's CSRF token.
func (h *Handler) consoleSignedIn(c *fiber.Ctx) error {
	sess, err := h.loadSession(c)
	if err != nil {
		return err
	}
	if sess == nil {
		return h.toLogin(c)
	}
	if c.Method() == fiber.MethodPost && !sess.CheckCSRF(httpkit.SubmittedCSRF(c)) {
		return h.csrfRefused(c)
	}
	c.Locals(consoleSessionKey, sess)
	return c.Next()
}

// consoleSignInView is the sign-in and second-factor pages' data.
type consoleSignInView struct {
	Email   string
	Error   string
	Notice  string
	QR      template.URL
	Secret  string
	LangURL string
}

func (h *Handler) signInPage(c *fiber.Ctx, status int, tmpl string, csrf string, v consoleSignInView) error {
	lang := h.render.Lang(c)
	if c.Method() == fiber.MethodGet {
		v.LangURL = consoleLangURL(c, lang)
	}
	return h.render.Render(c, status, tmpl, httpkit.PageData{Lang: lang, CSRF: csrf, Page: v})
}

func (h *Handler) adminLoginPage(c *fiber.Ctx) error {
	sess, err := h.loadSession(c)
	if err != nil {
		return err
	}
	if sess != nil && sess.MFADone {
		return c.Redirect(consoleLanding(sess.Admin), fiber.StatusSeeOther)
	}
	v := consoleSignInView{}
	if c.Query("msg") == "signed_out" {
		v.Notice = h.cat.T(h.render.Lang(c), "admin.msg.signed_out")
	}
	return h.signInPage(c, fiber.StatusOK, "admin_login", httpkit.CSRFToken(c, h.cfg.CookieSecure), v)
}

// adminLogin checks the password. Failures count against the (e-mail,
// client address) pair with a doubling delay, and against the address
// across e-mails (auth/signin_throttle.go); a throttled attempt is 429 with
// Retry-After.
func (h *Handler) adminLogin(c *fiber.Ctx) error {
	if err := httpkit.CheckCSRF(c); err != nil {
		return h.csrfRefused(c)
	}
	lang := h.render.Lang(c)
	email := strings.ToLower(consoleForm(c, "email"))
	password := utils.CopyString(c.FormValue("password"))
	cookie, a, err := h.auth.SignIn(c.UserContext(), email, password, c.IP())
	if err != nil {
		var throttled *auth.ThrottledError
		if errors.As(err, &throttled) {
			return h.consoleTooMany(c, throttled.Wait)
		}
		if !errors.Is(err, model.ErrUnauthorized) {
			return err
		}
		v := consoleSignInView{Email: email, Error: h.cat.T(lang, "admin.login.wrong")}
		return h.signInPage(c, fiber.StatusUnauthorized, "admin_login", httpkit.CSRFToken(c, h.cfg.CookieSecure), v)
	}
	h.setSessionCookie(c, cookie)
	return c.Redirect(consoleSecondFactorURL(a), fiber.StatusSeeOther)
}

// consoleTooMany is the 429 page of the sign-in forms.
func (h *Handler) consoleTooMany(c *fiber.Ctx, wait time.Duration) error {
	h.metrics.Throttled.WithLabelValues("signin").Inc()
	mins := max(int(wait.Minutes()+0.999), 1)
	c.Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
	msg := strings.ReplaceAll(h.cat.T(h.render.Lang(c), "admin.login.too_many"), "{minutes}", strconv.Itoa(mins))
	return h.render.Error(c, fiber.StatusTooManyRequests, "rate_limited", msg)
}

func (h *Handler) totpSetupPage(c *fiber.Ctx) error {
	return h.totpSetupRender(c, fiber.StatusOK, "")
}

func (h *Handler) totpSetupRender(c *fiber.Ctx, status int, errMsg string) error {
	sess := consoleSession(c)
	if sess.MFADone {
		return c.Redirect(consoleLanding(sess.Admin), fiber.StatusSeeOther)
	}
	if sess.Admin.TOTPEnabled {
		return c.Redirect("/admin/2fa", fiber.StatusSeeOther)
	}
	otpURL, secret, err := h.auth.PendingTOTP(c.UserContext(), sess)
	if err != nil {
		return err
	}
	qr, err := consoleQR(otpURL, 280)
	if err != nil {
		return err
	}
	v := consoleSignInView{Email: sess.Admin.Email, QR: qr, Secret: secret, Error: errMsg}
	return h.signInPage(c, status, "admin_2fa_setup", sess.CSRF, v)
}

func (h *Handler) totpSetupConfirm(c *fiber.Ctx) error {
	sess := consoleSession(c)
	if sess.Admin.TOTPEnabled || sess.MFADone {
		return c.Redirect(consoleSecondFactorURL(sess.Admin), fiber.StatusSeeOther)
	}
	wrong, wait, err := h.checkSecondFactor(c, sess)
	if err != nil {
		return err
	}
	if wait > 0 {
		return h.consoleTooMany(c, wait)
	}
	if wrong != "" {
		return h.totpSetupRender(c, fiber.StatusUnauthorized, wrong)
	}
	if err := h.auth.RecordTOTPEnrolled(c.UserContext(), sess.Principal(httpkit.RequestID(c))); err != nil {
		return err
	}
	return c.Redirect(consoleLanding(sess.Admin), fiber.StatusSeeOther)
}

func (h *Handler) totpPage(c *fiber.Ctx) error {
	sess := consoleSession(c)
	if sess.MFADone {
		return c.Redirect(consoleLanding(sess.Admin), fiber.StatusSeeOther)
	}
	if !sess.Admin.TOTPEnabled {
		return c.Redirect("/admin/2fa/setup", fiber.StatusSeeOther)
	}
	return h.signInPage(c, fiber.StatusOK, "admin_2fa", sess.CSRF, consoleSignInView{Email: sess.Admin.Email})
}

func (h *Handler) totpCheck(c *fiber.Ctx) error {
	sess := consoleSession(c)
	if !sess.Admin.TOTPEnabled {
		return c.Redirect("/admin/2fa/setup", fiber.StatusSeeOther)
	}
	wrong, wait, err := h.checkSecondFactor(c, sess)
	if err != nil {
		return err
	}
	if wait > 0 {
		return h.consoleTooMany(c, wait)
	}
	if wrong != "" {
		return h.signInPage(c, fiber.StatusUnauthorized, "admin_2fa", sess.CSRF, consoleSignInView{Email: sess.Admin.Email, Error: wrong})
	}
	return c.Redirect(consoleLanding(sess.Admin), fiber.StatusSeeOther)
}

// checkSecondFactor checks the submitted code, counting wrong ones against
// the user on every instance so that six digits cannot be guessed. The
// attempt takes its place before the code is checked (so parallel attempts
// cannot all pass before the first failure counts) and a right code gives
// it back. A right code renews the session id: the new cookie is set and
// the old one is dead. It answers the page's message for a wrong code, ""
// when the code is right, or a wait when the user is over the limit; when
// the limit cannot be counted the attempt is refused with an error.
func (h *Handler) checkSecondFactor(c *fiber.Ctx, sess *auth.Session) (wrong string, wait time.Duration, err error) {
	ctx := c.UserContext()
	slot, ok, wait, err := h.limits.SignIn.Take(ctx, sess.Admin.ID)
	if err != nil || !ok {
		return "", wait, err
	}
	code := strings.ReplaceAll(consoleForm(c, "code"), " ", "")
	cookie, err := h.auth.CheckTOTP(ctx, sess, code)
	if err == nil {
		h.setSessionCookie(c, cookie)
		h.refundSignIn(ctx, slot)
		return "", 0, nil
	}
	if !errors.Is(err, model.ErrUnauthorized) {
		h.refundSignIn(ctx, slot)
		return "", 0, err
	}
	return h.cat.T(h.render.Lang(c), "admin.2fa.wrong"), 0, nil
}

// refundSignIn gives back an attempt that was no wrong code; a refund that
// fails leaves the user one attempt short for the window, which is logged.
func (h *Handler) refundSignIn(ctx context.Context, slot httpkit.SharedSlot) {
	if err := h.limits.SignIn.Refund(ctx, slot); err != nil {
		h.log.Warn("refund second-factor attempt", "err", err)
	}
}

func (h *Handler) adminLogout(c *fiber.Ctx) error {
	if err := h.auth.SignOut(c.UserContext(), consoleSession(c)); err != nil {
		return err
	}
	h.clearSessionCookie(c)
	return c.Redirect("/admin/login?msg=signed_out", fiber.StatusSeeOther)
}

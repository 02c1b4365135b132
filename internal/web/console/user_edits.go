package console

import (
	"crypto/rand"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// An admin changes a console user's role, disables or re-enables them, or
// resets their password or second factor, through the same auth.Console
// calls as /api/v1/users. The service audits each change, ends the user's
// sessions where it must, and refuses to demote or disable the last admin.

// passwordReset is a password the console made, shown once.
type passwordReset struct {
	Email, Password string
}

// userSetRole changes a user's role (and a partner manager's partner).
func (h *Handler) userSetRole(c *fiber.Ctx) error {
	role, partner := consoleForm(c, "role"), consoleForm(c, "partner_id")
	patch := auth.AdminPatch{Role: &role}
	if partner != "" {
		patch.PartnerID = &partner
	}
	return h.userChange(c, "user_role_changed", func(id string) error {
		_, err := h.auth.UpdateAdmin(c.UserContext(), httpkit.Principal(c), id, patch)
		return err
	})
}

// userSetActive disables (active=0) or re-enables (active=1) a user.
func (h *Handler) userSetActive(c *fiber.Ctx) error {
	active, ok := consoleBool(c, "active")
	msg := "user_disabled"
	if active {
		msg = "user_enabled"
	}
	return h.userChange(c, msg, func(id string) error {
		if !ok {
			return model.Invalidf("active", "invalid_active", "active must be 0 or 1")
		}
		_, err := h.auth.UpdateAdmin(c.UserContext(), httpkit.Principal(c), id, auth.AdminPatch{Active: &active})
		return err
	})
}

// userResetSecondFactor removes a user's second factor; they set up a new
// one at their next sign-in.
func (h *Handler) userResetSecondFactor(c *fiber.Ctx) error {
	return h.userChange(c, "user_totp_reset", func(id string) error {
		return h.auth.ResetSecondFactor(c.UserContext(), httpkit.Principal(c), id)
	})
}

// userResetPassword gives a user a new random password and shows it once,
// on this answer only; the admin hands it over by another channel.
func (h *Handler) userResetPassword(c *fiber.Ctx) error {
	id := utils.CopyString(c.Params("id"))
	pw := newConsolePassword()
	if err := h.auth.ResetPassword(c.UserContext(), httpkit.Principal(c), id, pw); err != nil {
		return h.userFail(c, err)
	}
	email := ""
	if as, err := h.auth.ListAdmins(c.UserContext()); err == nil {
		for _, a := range as {
			if a.ID == id {
				email = a.Email
			}
		}
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	lang := h.render.Lang(c)
	return h.usersPageWith(c, fiber.StatusOK, auth.NewAdmin{Role: model.RoleHR, Locale: "ja"}, "",
		consoleNotice{Text: h.cat.T(lang, "admin.users.reset_once"), Tone: "warn"}, &passwordReset{Email: email, Password: pw})
}

// userChange runs one change to the user named in the path and answers
// with the users page: its message, or the refusal with nothing changed.
func (h *Handler) userChange(c *fiber.Ctx, msg string, change func(id string) error) error {
	if err := change(utils.CopyString(c.Params("id"))); err != nil {
		return h.userFail(c, err)
	}
	return c.Redirect("/admin/users?msg="+msg, fiber.StatusSeeOther)
}

func (h *Handler) userFail(c *fiber.Ctx, err error) error {
	msg, _, status, ok := h.formProblem(h.render.Lang(c), err)
	if !ok {
		return err
	}
	return h.usersPage(c, status, auth.NewAdmin{Role: model.RoleHR, Locale: "ja"}, "", consoleNotice{Text: msg, Tone: "bad"})
}

// newConsolePassword is a random password: 26 base32 characters (130
// bits), easy to read out and type.
func newConsolePassword() string {
	return rand.Text()
}

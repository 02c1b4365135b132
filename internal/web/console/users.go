package console

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// Console users: only an admin lists and adds them. A new user sets up
// the second factor at first sign-in.

type usersView struct {
	Rows     []userRow
	Reset    *passwordReset // a new password, shown once
	Roles    []consoleOption
	Partners []consoleOption
	Locales  []consoleOption
	In       auth.NewAdmin
	Field    string
}

type userRow struct {
	ID, PartnerID                                    string
	Email, Name, Role, RoleLabel, Partner, CreatedAt string
	TOTP, Disabled                                   bool
}

func (h *Handler) adminUsers(c *fiber.Ctx) error {
	return h.usersPage(c, fiber.StatusOK, auth.NewAdmin{Role: model.RoleHR, Locale: "ja"}, "", consoleNotice{})
}

func (h *Handler) usersPage(c *fiber.Ctx, status int, in auth.NewAdmin, field string, n consoleNotice) error {
	return h.usersPageWith(c, status, in, field, n, nil)
}

func (h *Handler) usersPageWith(c *fiber.Ctx, status int, in auth.NewAdmin, field string, n consoleNotice, reset *passwordReset) error {
	ctx := c.UserContext()
	lang := h.render.Lang(c)
	as, err := h.auth.ListAdmins(ctx)
	if err != nil {
		return err
	}
	ps, err := h.partners.List(ctx, httpkit.Principal(c))
	if err != nil {
		return err
	}
	names := map[string]string{}
	v := usersView{Reset: reset, In: in, Field: field, Locales: h.localeOptions(lang, in.Locale)}
	v.In.Password = ""
	for _, p := range ps {
		names[p.ID] = p.Name
		v.Partners = append(v.Partners, consoleOption{Value: p.ID, Label: p.Name, Selected: p.ID == in.PartnerID})
	}
	for _, r := range []string{model.RoleAdmin, model.RoleHR, model.RoleViewer, model.RolePartnerManager} {
		v.Roles = append(v.Roles, consoleOption{Value: r, Label: h.cat.T(lang, "admin.role."+r), Selected: r == in.Role})
	}
	for _, a := range as {
		row := userRow{ID: a.ID, Email: a.Email, Name: a.Name, Role: a.Role, RoleLabel: h.consoleLabel(lang, "admin.role.", a.Role),
			CreatedAt: consoleTime(a.CreatedAt), TOTP: a.TOTPEnabled, Disabled: a.DisabledAt != nil}
		if a.PartnerID != nil {
			row.Partner, row.PartnerID = names[*a.PartnerID], *a.PartnerID
		}
		v.Rows = append(v.Rows, row)
	}
	return h.consolePage(c, status, "admin_users", "users", v, n)
}

func (h *Handler) adminUserCreate(c *fiber.Ctx) error {
	in := auth.NewAdmin{Email: consoleForm(c, "email"), Name: consoleForm(c, "name"), Password: utils.CopyString(c.FormValue("password")),
		Role: consoleForm(c, "role"), PartnerID: consoleForm(c, "partner_id"), Locale: consoleForm(c, "locale")}
	if _, err := h.auth.AddAdmin(c.UserContext(), httpkit.Principal(c), in); err != nil {
		msg, field, status, ok := h.formProblem(h.render.Lang(c), err)
		if !ok {
			return err
		}
		return h.usersPage(c, status, in, field, consoleNotice{Text: msg, Tone: "bad"})
	}
	return c.Redirect("/admin/users?msg=user_created", fiber.StatusSeeOther)
}

package api

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// consoleUsers is what the API calls to manage console users (auth.Console):
// an admin's work only.
type consoleUsers interface {
	ListAdmins(ctx context.Context) ([]model.Admin, error)
	UpdateAdmin(ctx context.Context, p *model.Principal, id string, patch auth.AdminPatch) (*model.Admin, error)
	ResetPassword(ctx context.Context, p *model.Principal, id, password string) error
	ResetSecondFactor(ctx context.Context, p *model.Principal, id string) error
}

// userView is a console user without secrets.
type userView struct {
	ID         string     `json:"id"`
	Email      string     `json:"email"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	PartnerID  *string    `json:"partner_id"`
	Locale     string     `json:"locale"`
	TOTP       bool       `json:"second_factor"`
	Active     bool       `json:"active"`
	CreatedAt  time.Time  `json:"created_at"`
	DisabledAt *time.Time `json:"disabled_at"`
}

func toUserView(a model.Admin) userView {
	return userView{ID: a.ID, Email: a.Email, Name: a.Name, Role: a.Role, PartnerID: a.PartnerID, Locale: a.Locale,
		TOTP: a.TOTPEnabled, Active: a.DisabledAt == nil, CreatedAt: a.CreatedAt, DisabledAt: a.DisabledAt}
}

func (h *Handler) listUsers(c *fiber.Ctx) error {
	as, err := h.users.ListAdmins(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]userView, len(as))
	for i, a := range as {
		out[i] = toUserView(a)
	}
	return c.JSON(fiber.Map{"users": out})
}

func (h *Handler) patchUser(c *fiber.Ctx) error {
	var in auth.AdminPatch
	if err := httpkit.BindJSON(c, &in); err != nil {
		return err
	}
	a, err := h.users.UpdateAdmin(c.UserContext(), httpkit.Principal(c), utils.CopyString(c.Params("id")), in)
	if err != nil {
		return err
	}
	return c.JSON(toUserView(*a))
}

func (h *Handler) resetUserPassword(c *fiber.Ctx) error {
	var in struct {
		Password string `json:"password"`
	}
	if err := httpkit.BindJSON(c, &in); err != nil {
		return err
	}
	if err := h.users.ResetPassword(c.UserContext(), httpkit.Principal(c), utils.CopyString(c.Params("id")), in.Password); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"reset": true})
}

func (h *Handler) resetUserSecondFactor(c *fiber.Ctx) error {
	if err := h.users.ResetSecondFactor(c.UserContext(), httpkit.Principal(c), utils.CopyString(c.Params("id"))); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"reset": true})
}

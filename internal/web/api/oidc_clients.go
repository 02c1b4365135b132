package api

import (
	"context"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/oidc"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// signInClients registers partner websites with the OpenID Provider.
type signInClients interface {
	CreateClient(ctx context.Context, p *model.Principal, partnerID string, in oidc.ClientInput) (*oidc.IssuedClient, error)
	Clients(ctx context.Context, p *model.Principal, partnerID string) ([]oidc.Client, error)
	RevokeClient(ctx context.Context, p *model.Principal, partnerID, clientID string) error
}

func (h *Handler) createOIDCClient(c *fiber.Ctx) error {
	var in oidc.ClientInput
	if err := httpkit.BindJSON(c, &in); err != nil {
		return err
	}
	cl, err := h.oidc.CreateClient(c.UserContext(), httpkit.Principal(c), utils.CopyString(c.Params("id")), in)
	if err != nil {
		return err
	}
	return httpkit.Created(c, cl)
}

func (h *Handler) listOIDCClients(c *fiber.Ctx) error {
	cs, err := h.oidc.Clients(c.UserContext(), httpkit.Principal(c), utils.CopyString(c.Params("id")))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"clients": cs})
}

func (h *Handler) revokeOIDCClient(c *fiber.Ctx) error {
	err := h.oidc.RevokeClient(c.UserContext(), httpkit.Principal(c), utils.CopyString(c.Params("id")), utils.CopyString(c.Params("client")))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"revoked": true})
}

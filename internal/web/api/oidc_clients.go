package api

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/oidc"
	"github.com/alumnipass/alumnipass/internal/partners"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// signInClients registers partner websites with the OpenID Provider.
type signInClients interface {
	CreateClient(ctx context.Context, p *model.Principal, partnerID string, in oidc.ClientInput) (*oidc.IssuedClient, error)
	Clients(ctx context.Context, p *model.Principal, partnerID string) ([]oidc.Client, error)
	RevokeClient(ctx context.Context, p *model.Principal, partnerID, clientID string) error
	Grant(ctx context.Context, accessToken string) (*oidc.Grant, error)
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

// redeemOnline records a perk used in a booking on a partner's website,
// with the member's access token from "Sign in with alumnipass" as Bearer.
func (h *Handler) redeemOnline(c *fiber.Ctx) error {
	tok, ok := strings.CutPrefix(c.Get("Authorization"), "Bearer ")
	if !ok || tok == "" || len(tok) > 4096 {
		return model.NewProblem(model.ErrUnauthorized, "invalid_token", "Send the member's access token as Authorization: Bearer.")
	}
	g, err := h.oidc.Grant(c.UserContext(), utils.CopyString(tok))
	if err != nil {
		return err
	}
	var in partners.OnlineRedeemInput
	if err := httpkit.BindJSON(c, &in); err != nil {
		return err
	}
	r, err := h.partners.RedeemOnline(c.UserContext(), partners.OnlineGrant{MemberID: g.MemberID, PartnerID: g.PartnerID, ClientID: g.ClientID},
		utils.CopyString(c.Get("Idempotency-Key")), in)
	if err != nil {
		return err
	}
	if r.Replayed {
		return c.JSON(r)
	}
	return httpkit.Created(c, r)
}

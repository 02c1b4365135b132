package console

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/oidc"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// SignInClients is what the partner page asks of the OpenID Provider: the
// partner's registered websites.
type SignInClients interface {
	CreateClient(ctx context.Context, p *model.Principal, partnerID string, in oidc.ClientInput) (*oidc.IssuedClient, error)
	Clients(ctx context.Context, p *model.Principal, partnerID string) ([]oidc.Client, error)
	RevokeClient(ctx context.Context, p *model.Principal, partnerID, clientID string) error
}

// oidcClientRow is one registered website on the partner page.
type oidcClientRow struct {
	ID, Name, RedirectURIs, CreatedAt, RevokedAt string
	Revoked                                      bool
}

func (h *Handler) oidcClientRows(ctx context.Context, p *model.Principal, partnerID string) ([]oidcClientRow, error) {
	if h.signIns == nil {
		return nil, nil
	}
	cs, err := h.signIns.Clients(ctx, p, partnerID)
	if err != nil {
		return nil, err
	}
	rows := make([]oidcClientRow, 0, len(cs))
	for _, c := range cs {
		rows = append(rows, oidcClientRow{ID: c.ID, Name: c.Name, RedirectURIs: strings.Join(c.RedirectURIs, "\n"),
			CreatedAt: consoleTime(c.CreatedAt), RevokedAt: consoleTimePtr(c.RevokedAt), Revoked: c.RevokedAt != nil})
	}
	return rows, nil
}

// partnerClientCreate registers a website and shows its secret once.
func (h *Handler) partnerClientCreate(scope partnerScope) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := utils.CopyString(scope.id(c))
		in := oidc.ClientInput{Name: consoleForm(c, "name"), LogoURL: consoleForm(c, "logo_url"),
			RedirectURIs: strings.Fields(consoleForm(c, "redirect_uris"))}
		cl, err := h.signIns.CreateClient(c.UserContext(), httpkit.Principal(c), id, in)
		if err != nil {
			return h.partnerFail(c, scope, err, partnerExtras{})
		}
		lang := h.render.Lang(c)
		return h.partnerPage(c, scope, fiber.StatusOK, partnerExtras{newClient: cl}, consoleNotice{Text: h.cat.T(lang, "admin.oidc.created_once"), Tone: "warn"})
	}
}

// partnerClientRevoke stops a website at once.
func (h *Handler) partnerClientRevoke(scope partnerScope) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := utils.CopyString(scope.id(c))
		if err := h.signIns.RevokeClient(c.UserContext(), httpkit.Principal(c), id, utils.CopyString(c.Params("client"))); err != nil {
			return h.partnerFail(c, scope, err, partnerExtras{})
		}
		return c.Redirect(scope.base(id)+"?msg=oidc_client_revoked", fiber.StatusSeeOther)
	}
}

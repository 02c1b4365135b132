package api

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// bearer authenticates an API key and checks its role.
func (h *Handler) bearer(roles ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		tok, ok := httpkit.BearerToken(c)
		if !ok {
			return model.NewProblem(model.ErrUnauthorized, "unauthorized", "Send Authorization: Bearer <token>.")
		}
		p, err := h.auth.Bearer(c.UserContext(), tok)
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
		p.RequestID = httpkit.RequestID(c)
		httpkit.SetPrincipal(c, p)
		return c.Next()
	}
}

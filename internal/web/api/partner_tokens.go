package api

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// createPartnerToken issues an API token scoped to one partner, with a
// partner manager's rights (shown once).
func (h *Handler) createPartnerToken(c *fiber.Ctx) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := httpkit.BindJSON(c, &in); err != nil {
		return err
	}
	k, err := h.partners.CreateManagerToken(c.UserContext(), httpkit.Principal(c), utils.CopyString(c.Params("id")), in.Name)
	if err != nil {
		return err
	}
	return httpkit.Created(c, k)
}

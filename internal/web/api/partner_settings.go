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

// setOfflineLimit sets how old a partner's scanners' offline data may be.
func (h *Handler) setOfflineLimit(c *fiber.Ctx) error {
	var in struct {
		Minutes int `json:"minutes"`
	}
	if err := httpkit.BindJSON(c, &in); err != nil {
		return err
	}
	id := utils.CopyString(c.Params("id"))
	if err := h.partners.SetOfflineLimit(c.UserContext(), httpkit.Principal(c), id, in.Minutes); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"minutes": in.Minutes})
}

package api

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/alumnipass/alumnipass/internal/members"
	"github.com/alumnipass/alumnipass/internal/partners"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

func (h *Handler) patchMember(c *fiber.Ctx) error {
	var in members.Patch
	if err := httpkit.BindJSON(c, &in); err != nil {
		return err
	}
	m, err := h.members.Update(c.UserContext(), httpkit.Principal(c), utils.CopyString(c.Params("id")), in)
	if err != nil {
		return err
	}
	return c.JSON(m)
}

func (h *Handler) patchPartner(c *fiber.Ctx) error {
	var in partners.PartnerPatch
	if err := httpkit.BindJSON(c, &in); err != nil {
		return err
	}
	d, err := h.partners.UpdatePartner(c.UserContext(), httpkit.Principal(c), utils.CopyString(c.Params("id")), in)
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func (h *Handler) patchVenue(c *fiber.Ctx) error {
	var in partners.VenuePatch
	if err := httpkit.BindJSON(c, &in); err != nil {
		return err
	}
	v, err := h.partners.UpdateVenue(c.UserContext(), httpkit.Principal(c), utils.CopyString(c.Params("id")),
		utils.CopyString(c.Params("venue")), in)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (h *Handler) patchPerk(c *fiber.Ctx) error {
	var in partners.PerkPatch
	if err := httpkit.BindJSON(c, &in); err != nil {
		return err
	}
	pk, err := h.partners.UpdatePerk(c.UserContext(), httpkit.Principal(c), utils.CopyString(c.Params("id")),
		utils.CopyString(c.Params("perk")), in)
	if err != nil {
		return err
	}
	return c.JSON(perkJSON(*pk))
}

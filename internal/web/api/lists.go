package api

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
)

// guestPassView is a guest pass as HR sees it: without its code, which
// would let the reader use the pass.
type guestPassView struct {
	ID         string    `json:"id"`
	CardID     string    `json:"card_id"`
	PartySize  int       `json:"party_size"`
	ValidFrom  time.Time `json:"valid_from"`
	ValidUntil time.Time `json:"valid_until"`
	MaxUses    int       `json:"max_uses"`
	Uses       int       `json:"uses"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
}

// memberGuestPasses lists the guest passes a member issued, newest first
// (the console's member page shows the same).
func (h *Handler) memberGuestPasses(c *fiber.Ctx) error {
	ctx, id := c.UserContext(), utils.CopyString(c.Params("id"))
	if _, err := h.members.Get(ctx, id); err != nil {
		return err
	}
	gs, err := h.members.GuestPasses(ctx, id, 200)
	if err != nil {
		return err
	}
	out := make([]guestPassView, len(gs))
	for i, g := range gs {
		out[i] = guestPassView{ID: g.ID, CardID: g.CardID, PartySize: g.PartySize, ValidFrom: g.ValidFrom, ValidUntil: g.ValidUntil,
			MaxUses: g.MaxUses, Uses: g.Uses, Status: g.Status, CreatedAt: g.CreatedAt}
	}
	return c.JSON(fiber.Map{"guest_passes": out})
}

// memberRedemptions lists the perks a member (and their guests) used,
// newest first.
func (h *Handler) memberRedemptions(c *fiber.Ctx) error {
	ctx, id := c.UserContext(), utils.CopyString(c.Params("id"))
	if _, err := h.members.Get(ctx, id); err != nil {
		return err
	}
	rs, err := h.members.Redemptions(ctx, id, 200)
	if err != nil {
		return err
	}
	if rs == nil {
		return c.JSON(fiber.Map{"redemptions": []any{}})
	}
	return c.JSON(fiber.Map{"redemptions": rs})
}

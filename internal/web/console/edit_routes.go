package console

import (
	"github.com/gofiber/fiber/v2"

	"github.com/alumnipass/alumnipass/internal/model"
)

// editRoutes registers the day-two edits (issue 14): a partner's rename and
// deactivation (HR only), its venues and perks (HR and the partner's own
// manager, by the same rules as the API's PATCH routes), and console users
// (an admin only). consoleGuard has already checked the session, CSRF and
// that a viewer posts nothing; the services check the rest again.
func (h *Handler) editRoutes(hr, pm fiber.Router, hrPartner, own partnerScope) {
	hr.Post("/partners/:id/rename", h.partnerRename(hrPartner))
	hr.Post("/partners/:id/active", h.partnerSetActive(hrPartner))
	for _, r := range []struct {
		router fiber.Router
		prefix string
		scope  partnerScope
	}{{hr, "/partners/:id", hrPartner}, {pm, "", own}} {
		r.router.Post(r.prefix+"/venues/:venue/rename", h.venueRename(r.scope))
		r.router.Post(r.prefix+"/venues/:venue/closed", h.venueSetClosed(r.scope))
		r.router.Get(r.prefix+"/perks/:perk/edit", h.consoleWriter, h.perkEdit(r.scope))
		r.router.Post(r.prefix+"/perks/:perk/edit", h.perkUpdate(r.scope))
	}
	admin := h.consoleRole(model.RoleAdmin)
	hr.Post("/users/:id/role", admin, h.userSetRole)
	hr.Post("/users/:id/active", admin, h.userSetActive)
	hr.Post("/users/:id/reset-password", admin, h.userResetPassword)
	hr.Post("/users/:id/reset-second-factor", admin, h.userResetSecondFactor)
}

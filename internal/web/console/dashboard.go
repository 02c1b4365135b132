package console

import (
	"github.com/gofiber/fiber/v2"

	"github.com/alumnipass/alumnipass/internal/members"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

type dashboardView struct {
	Active, Suspended, Revoked, Total int
	Partners                          int
	Recent                            auditTable
}

func (h *Handler) adminDashboard(c *fiber.Ctx) error {
	ctx := c.UserContext()
	lang := h.render.Lang(c)
	counts, err := h.members.Counts(ctx)
	if err != nil {
		return err
	}
	v := dashboardView{Active: counts[string(model.MemberActive)], Suspended: counts[string(model.MemberSuspended)],
		Revoked: counts[string(model.MemberRevoked)]}
	v.Total = v.Active + v.Suspended + v.Revoked
	ps, err := h.partners.List(ctx, httpkit.Principal(c))
	if err != nil {
		return err
	}
	v.Partners = len(ps)
	es, err := h.members.Audit(ctx, members.AuditFilter{Limit: 8})
	if err != nil {
		return err
	}
	v.Recent = h.auditRows(lang, es)
	return h.consolePage(c, fiber.StatusOK, "admin_dashboard", "dashboard", v, consoleNotice{})
}

package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

type dashboardView struct {
	Active, Suspended, Revoked, Total int
	Partners                          int
	Recent                            auditTable
}

func (s *Server) adminDashboard(c *fiber.Ctx) error {
	ctx := c.UserContext()
	lang := s.render.Lang(c)
	counts, err := s.svc.Members.Counts(ctx)
	if err != nil {
		return err
	}
	v := dashboardView{Active: counts[string(model.MemberActive)], Suspended: counts[string(model.MemberSuspended)],
		Revoked: counts[string(model.MemberRevoked)]}
	v.Total = v.Active + v.Suspended + v.Revoked
	ps, err := s.svc.Partners.List(ctx, httpkit.Principal(c))
	if err != nil {
		return err
	}
	v.Partners = len(ps)
	es, err := s.svc.Members.Audit(ctx, store.AuditFilter{Limit: 8})
	if err != nil {
		return err
	}
	v.Recent = s.auditRows(lang, es)
	return s.consolePage(c, fiber.StatusOK, "admin_dashboard", "dashboard", v, consoleNotice{})
}

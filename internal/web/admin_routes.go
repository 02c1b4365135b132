package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// Locals the console middleware sets.
const (
	consoleSessionKey     = "console_session"
	consolePartnerNameKey = "console_partner_name"
)

// adminRoutes registers the HR console and the partner manager's pages.
// Sign-in and its second factor come first; everything else under /admin
// and /partner passes consoleGuard, which wants a session whose second
// factor is done, the right console for its role, and on every POST the
// session's CSRF token (and a role that may change things).
func (s *Server) adminRoutes() {
	a := s.app
	if err := s.loadConsoleTemplates(); err != nil {
		s.log.Error("console templates", "err", err)
		broken := func(c *fiber.Ctx) error { return err }
		a.Use("/admin", broken)
		a.Use("/partner", broken)
		return
	}
	a.Get("/admin/login", s.adminLoginPage)
	a.Post("/admin/login", s.adminLogin)
	a.Get("/admin/2fa/setup", s.consoleSignedIn, s.totpSetupPage)
	a.Post("/admin/2fa/setup", s.consoleSignedIn, s.totpSetupConfirm)
	a.Get("/admin/2fa", s.consoleSignedIn, s.totpPage)
	a.Post("/admin/2fa", s.consoleSignedIn, s.totpCheck)
	a.Post("/admin/logout", s.consoleSignedIn, s.adminLogout)

	hr := a.Group("/admin", s.consoleGuard(consoleHR))
	hr.Get("/", s.adminDashboard)
	hr.Get("/members", s.adminMembers)
	hr.Get("/members/new", s.consoleWriter, s.adminMemberNew)
	hr.Post("/members", s.adminMemberCreate)
	hr.Get("/members/:id", s.adminMember)
	hr.Post("/members/:id/cards", s.adminCardIssue)
	hr.Post("/members/:id/letter", s.adminLetter)
	hr.Post("/members/:id/send-enrollment", s.adminSendEnrollment)
	hr.Post("/members/:id/revoke", s.adminMemberStatus("revoke"))
	hr.Post("/members/:id/suspend", s.adminMemberStatus("suspend"))
	hr.Post("/members/:id/reinstate", s.adminMemberStatus("reinstate"))
	hr.Get("/import", s.consoleWriter, s.adminImportPage)
	hr.Post("/import", s.adminImportPreview)
	hr.Post("/import/apply", s.adminImportApply)
	hr.Get("/partners", s.adminPartners)
	hr.Post("/partners", s.adminPartnerCreate)
	hr.Get("/reports", s.adminReports)
	hr.Get("/reports.csv", s.adminReportsCSV)
	hr.Get("/audit", s.adminAudit)
	hr.Get("/users", s.consoleRole(model.RoleAdmin), s.adminUsers)
	hr.Post("/users", s.consoleRole(model.RoleAdmin), s.adminUserCreate)

	hrPartner := partnerScope{console: consoleHR, base: func(id string) string { return "/admin/partners/" + id },
		id: func(c *fiber.Ctx) string { return c.Params("id") }}
	hr.Get("/partners/:id", s.partnerDetail(hrPartner))
	s.partnerActions(hr, "/partners/:id", hrPartner)

	pm := a.Group("/partner", s.consoleGuard(consolePartner))
	own := partnerScope{console: consolePartner, base: func(string) string { return "/partner" },
		id: func(c *fiber.Ctx) string { return httpkit.Principal(c).PartnerID }}
	pm.Get("/", s.partnerDetail(own))
	pm.Get("/report.csv", s.partnerReportCSV)
	s.partnerActions(pm, "", own)
}

// partnerActions registers the changes HR and a partner manager can both
// make to a partner, under /admin/partners/{id} and /partner.
func (s *Server) partnerActions(r fiber.Router, prefix string, scope partnerScope) {
	r.Post(prefix+"/venues", s.partnerVenueAdd(scope))
	r.Post(prefix+"/perks", s.partnerPerkCreate(scope))
	r.Post(prefix+"/keys", s.partnerKeyCreate(scope))
	r.Post(prefix+"/keys/:key/revoke", s.partnerKeyRevoke(scope))
	r.Post(prefix+"/pairing", s.partnerPairing(scope))
}

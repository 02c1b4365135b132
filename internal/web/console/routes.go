package console

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

// Routes registers the HR console and the partner manager's pages.
// Sign-in and its second factor come first; everything else under /admin
// and /partner passes consoleGuard, which wants a session whose second
// factor is done, the right console for its role, and on every POST the
// session's CSRF token (and a role that may change things).
func (h *Handler) Routes(a fiber.Router) {
	if err := h.loadConsoleTemplates(); err != nil {
		h.log.Error("console templates", "err", err)
		broken := func(c *fiber.Ctx) error { return err }
		a.Use("/admin", broken)
		a.Use("/partner", broken)
		return
	}
	a.Get("/admin/login", h.adminLoginPage)
	a.Post("/admin/login", h.adminLogin)
	a.Get("/admin/2fa/setup", h.consoleSignedIn, h.totpSetupPage)
	a.Post("/admin/2fa/setup", h.consoleSignedIn, h.totpSetupConfirm)
	a.Get("/admin/2fa", h.consoleSignedIn, h.totpPage)
	a.Post("/admin/2fa", h.consoleSignedIn, h.totpCheck)
	a.Post("/admin/logout", h.consoleSignedIn, h.adminLogout)

	hr := a.Group("/admin", h.consoleGuard(consoleHR))
	hr.Get("/", h.adminDashboard)
	hr.Get("/members", h.adminMembers)
	hr.Get("/members/new", h.consoleWriter, h.adminMemberNew)
	hr.Post("/members", h.adminMemberCreate)
	hr.Get("/members/:id/edit", h.consoleWriter, h.adminMemberEdit)
	hr.Post("/members/:id/edit", h.adminMemberUpdate)
	hr.Get("/members/:id", h.adminMember)
	hr.Post("/members/:id/cards", h.adminCardIssue)
	hr.Post("/members/:id/letter", h.adminLetter)
	hr.Post("/members/:id/send-enrollment", h.adminSendEnrollment)
	hr.Post("/members/:id/revoke", h.adminMemberStatus("revoke"))
	hr.Post("/members/:id/suspend", h.adminMemberStatus("suspend"))
	hr.Post("/members/:id/reinstate", h.adminMemberStatus("reinstate"))
	hr.Get("/import", h.consoleWriter, h.adminImportPage)
	hr.Post("/import", h.adminImportPreview)
	hr.Post("/import/apply", h.adminImportApply)
	hr.Get("/partners", h.adminPartners)
	hr.Post("/partners", h.adminPartnerCreate)
	hr.Get("/reports", h.adminReports)
	hr.Get("/reports.csv", h.adminReportsCSV)
	hr.Get("/audit", h.adminAudit)
	hr.Get("/users", h.consoleRole(model.RoleAdmin), h.adminUsers)
	hr.Post("/users", h.consoleRole(model.RoleAdmin), h.adminUserCreate)

	// Bulk invitations (issue 14).
	hr.Get("/invitations", h.adminInvitations)
	hr.Get("/invitations/new", h.consoleWriter, h.adminInviteSearchConfirm)
	hr.Post("/invitations", h.adminInvitationCreate)
	hr.Post("/invitations/search", h.adminInviteSearch)
	hr.Post("/invitations/remind", h.adminInvitationRemind)
	hr.Get("/invitations/:id", h.adminInvitation)
	hr.Get("/invitations/:id/progress.json", h.adminInvitationProgress)
	hr.Post("/invitations/:id/cancel", h.adminInvitationCancel)

	hrPartner := partnerScope{console: consoleHR, base: func(id string) string { return "/admin/partners/" + id },
		id: func(c *fiber.Ctx) string { return c.Params("id") }}
	hr.Get("/partners/:id", h.partnerDetail(hrPartner))
	h.partnerActions(hr, "/partners/:id", hrPartner)

	pm := a.Group("/partner", h.consoleGuard(consolePartner))
	own := partnerScope{console: consolePartner, base: func(string) string { return "/partner" },
		id: func(c *fiber.Ctx) string { return httpkit.Principal(c).PartnerID }}
	pm.Get("/", h.partnerDetail(own))
	pm.Get("/report.csv", h.partnerReportCSV)
	h.partnerActions(pm, "", own)
	h.editRoutes(hr, pm, hrPartner, own)
}

// partnerActions registers the changes HR and a partner manager can both
// make to a partner, under /admin/partners/{id} and /partner.
func (h *Handler) partnerActions(r fiber.Router, prefix string, scope partnerScope) {
	r.Post(prefix+"/venues", h.partnerVenueAdd(scope))
	r.Post(prefix+"/perks", h.partnerPerkCreate(scope))
	r.Post(prefix+"/keys", h.partnerKeyCreate(scope))
	r.Post(prefix+"/keys/:key/revoke", h.partnerKeyRevoke(scope))
	r.Post(prefix+"/tokens", h.partnerTokenCreate(scope))
	r.Post(prefix+"/offline-limit", h.partnerOfflineLimit(scope))
	r.Post(prefix+"/pairing", h.partnerPairing(scope))
	if h.signIns != nil {
		r.Post(prefix+"/oidc-clients", h.partnerClientCreate(scope))
		r.Post(prefix+"/oidc-clients/:client/revoke", h.partnerClientRevoke(scope))
	}
}

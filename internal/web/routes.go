package web

import (
	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/keyring"
	"github.com/alumnipass/alumnipass/internal/members"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/partners"
	"github.com/alumnipass/alumnipass/internal/verify"
	"github.com/alumnipass/alumnipass/internal/wallet"
)

// Services are the feature services the handlers call.
type Services struct {
	Auth     *auth.Service
	Console  *auth.Console
	Keys     *keyring.Keyring
	Members  *members.Service
	Wallet   *wallet.Service
	Partners *partners.Service
	Verifier *verify.Verifier
}

// routes registers the API and page routes.
func (s *Server) routes() {
	a := s.app
	a.Get("/.well-known/alumnipass/keys.json", s.getKeys)

	hr := []string{model.RoleAdmin, model.RoleHR}
	read := []string{model.RoleAdmin, model.RoleHR, model.RoleViewer}
	api := a.Group("/api/v1")
	api.Post("/members", s.bearer(hr...), s.createMember)
	api.Get("/members", s.bearer(read...), s.listMembers)
	api.Post("/members/import", s.bearer(hr...), s.importMembers)
	api.Get("/members/:id", s.bearer(read...), s.getMember)
	api.Post("/members/:id/revoke", s.bearer(hr...), s.memberStatus(members.ActionRevoke))
	api.Post("/members/:id/suspend", s.bearer(hr...), s.memberStatus(members.ActionSuspend))
	api.Post("/members/:id/reinstate", s.bearer(hr...), s.memberStatus(members.ActionReinstate))
	api.Post("/members/:id/cards", s.bearer(hr...), s.issueCard)
	api.Get("/members/:id/export", s.bearer(hr...), s.exportMember)
	api.Post("/members/:id/erase", s.bearer(model.RoleAdmin), s.eraseMember)
	api.Get("/audit", s.bearer(read...), s.listAudit)

	// Partner managers work in the /partner console (a session, not an API
	// token); the API is for HR automation and venue devices.
	partnerRoles := hr
	api.Post("/partners", s.bearer(hr...), s.createPartner)
	api.Get("/partners", s.bearer(read...), s.listPartners)
	api.Get("/partners/:id", s.bearer(read...), s.getPartner)
	api.Post("/partners/:id/venues", s.bearer(partnerRoles...), s.addVenue)
	api.Post("/partners/:id/keys", s.bearer(partnerRoles...), s.createKey)
	api.Get("/partners/:id/keys", s.bearer(partnerRoles...), s.listKeys)
	api.Post("/partners/:id/keys/:key/revoke", s.bearer(partnerRoles...), s.revokeKey)
	api.Post("/partners/:id/pairing-codes", s.bearer(partnerRoles...), s.createPairing)
	api.Post("/partners/:id/perks", s.bearer(partnerRoles...), s.createPerk)
	api.Get("/partners/:id/perks", s.bearer(read...), s.listPerks)
	api.Get("/partners/:id/redemptions", s.bearer(read...), s.partnerRedemptions)

	api.Post("/devices/pair", s.pairDevice)
	api.Get("/devices/me", s.bearer(model.RoleDevice), s.deviceMe)
	api.Post("/verify", s.bearer(model.RoleDevice), s.verify)
	api.Post("/redemptions", s.bearer(model.RoleDevice), s.redeem)

	api.Post("/wallet/enroll", s.walletEnroll)
	api.Get("/wallet/code", s.walletAuth, s.walletCode)
	api.Get("/wallet/code.png", s.walletAuth, s.walletCodePNG)
	api.Post("/wallet/guest-passes", s.walletAuth, s.walletCreateGuestPass)
	api.Post("/wallet/guest-passes/:id/cancel", s.walletAuth, s.walletCancelGuestPass)

	s.pageRoutes()
}

// Package api is the JSON API of alumnipass under /api/v1: HR automation
// (members, partners, audit), venue devices (pairing, verify, redemptions),
// the wallet app, the server's clock, and the public key set. Every answer
// is JSON; every error goes through httpkit.ErrorHandler.
package api

import (
	"context"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/alumnipass/alumnipass/internal/config"
	"github.com/alumnipass/alumnipass/internal/keyring"
	"github.com/alumnipass/alumnipass/internal/members"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/partners"
	"github.com/alumnipass/alumnipass/internal/verify"
	"github.com/alumnipass/alumnipass/internal/wallet"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// The feature services the API calls, as the methods it calls.
type (
	tokenAuth interface {
		Bearer(ctx context.Context, token string) (*model.Principal, error)
	}
	keySet interface {
		JWKS() []keyring.JWK
	}
	memberService interface {
		Create(ctx context.Context, p *model.Principal, in members.Input) (*model.Member, error)
		List(ctx context.Context, f members.MemberFilter) (ms []model.Member, next string, err error)
		Get(ctx context.Context, id string) (*members.Detail, error)
		ChangeStatus(ctx context.Context, p *model.Principal, id, action, reason string) (*model.Member, error)
		IssueCard(ctx context.Context, p *model.Principal, memberID string) (*members.IssuedCard, error)
		Import(ctx context.Context, p *model.Principal, data []byte, encoding string, dryRun bool) (*members.ImportReport, error)
		Audit(ctx context.Context, f members.AuditFilter) ([]model.AuditEntry, error)
		Export(ctx context.Context, p *model.Principal, id string) (*members.Export, error)
		Erase(ctx context.Context, p *model.Principal, id, reason string) error
		Update(ctx context.Context, p *model.Principal, id string, patch members.Patch) (*model.Member, error)
		GuestPasses(ctx context.Context, memberID string, limit int) ([]model.GuestPass, error)
		Redemptions(ctx context.Context, memberID string, limit int) ([]members.RedemptionRow, error)
	}
	partnerService interface {
		CreatePartner(ctx context.Context, p *model.Principal, in partners.PartnerInput) (*partners.PartnerDetail, error)
		List(ctx context.Context, p *model.Principal) ([]model.Partner, error)
		Get(ctx context.Context, p *model.Principal, id string) (*partners.PartnerDetail, error)
		AddVenue(ctx context.Context, p *model.Principal, partnerID, name string) (*model.Venue, error)
		CreateKey(ctx context.Context, p *model.Principal, partnerID, venueID, name string) (*partners.IssuedKey, error)
		CreateManagerToken(ctx context.Context, p *model.Principal, partnerID, name string) (*partners.IssuedKey, error)
		OfflineLimit(ctx context.Context, p *model.Principal, partnerID string) (int, error)
		SetOfflineLimit(ctx context.Context, p *model.Principal, partnerID string, minutes int) error
		Keys(ctx context.Context, p *model.Principal, partnerID string) ([]model.APIKey, error)
		RevokeKey(ctx context.Context, p *model.Principal, partnerID, keyID string) error
		CreatePairing(ctx context.Context, p *model.Principal, partnerID, venueID, name, baseURL string) (*partners.Pairing, error)
		CreatePerk(ctx context.Context, p *model.Principal, partnerID string, in partners.PerkInput) (*model.Perk, error)
		Perks(ctx context.Context, p *model.Principal, partnerID string) ([]model.Perk, error)
		UpdatePartner(ctx context.Context, p *model.Principal, id string, patch partners.PartnerPatch) (*partners.PartnerDetail, error)
		UpdateVenue(ctx context.Context, p *model.Principal, partnerID, venueID string, patch partners.VenuePatch) (*model.Venue, error)
		UpdatePerk(ctx context.Context, p *model.Principal, partnerID, perkID string, patch partners.PerkPatch) (*model.Perk, error)
		Report(ctx context.Context, p *model.Principal, partnerID string, since time.Time) ([]partners.ReportLine, error)
		Pair(ctx context.Context, code string) (*partners.IssuedKey, string, error)
		Device(ctx context.Context, p *model.Principal) (*partners.DeviceInfo, error)
		Redeem(ctx context.Context, p *model.Principal, idemKey string, in partners.RedeemInput) (*partners.Redemption, error)
		RedeemOnline(ctx context.Context, g partners.OnlineGrant, idemKey string, in partners.OnlineRedeemInput) (*partners.OnlineRedemption, error)
	}
	walletService interface {
		Open(ctx context.Context, token string) (*wallet.Wallet, error)
		Enroll(ctx context.Context, token string, consent bool) (*wallet.Enrolment, error)
		EnrollDevice(ctx context.Context, token string, consent bool, publicKey []byte) (*wallet.Enrolment, *wallet.Binding, error)
		BindDevice(ctx context.Context, w *wallet.Wallet, publicKey []byte) (*wallet.Binding, error)
		CurrentCode(w *wallet.Wallet) (*wallet.Code, error)
		CreateGuestPass(ctx context.Context, w *wallet.Wallet, in wallet.GuestPassInput) (*wallet.IssuedPass, error)
		CancelGuestPass(ctx context.Context, w *wallet.Wallet, id string) error
		RecordClock(ctx context.Context, w *wallet.Wallet, offsetMS int64) error
	}
	verifier interface {
		Verify(ctx context.Context, p *model.Principal, code string) (*verify.Decision, error)
		VerifyOffline(ctx context.Context, p *model.Principal, code string, scannedAt time.Time) (*verify.Decision, error)
	}
)

// Deps is what the API needs, given by web.New.
type Deps struct {
	Config   *config.Config
	Log      *slog.Logger
	Now      func() time.Time
	Limits   *httpkit.Limits
	Metrics  *httpkit.Metrics
	Auth     tokenAuth
	Keys     keySet
	Members  memberService
	Partners partnerService
	Wallet   walletService
	Verifier verifier
	Jobs     jobService
	Users    consoleUsers
	Status   statusLists
	// OIDC registers partner websites with the OpenID Provider.
	OIDC signInClients
}

// Handler answers the API's routes.
type Handler struct {
	cfg      *config.Config
	log      *slog.Logger
	now      func() time.Time
	limits   *httpkit.Limits
	metrics  *httpkit.Metrics
	auth     tokenAuth
	keys     keySet
	members  memberService
	partners partnerService
	wallet   walletService
	verifier verifier
	jobs     jobService
	users    consoleUsers
	status   statusLists
	oidc     signInClients
}

// New builds the API's handler.
func New(d Deps) *Handler {
	return &Handler{jobs: d.Jobs, users: d.Users, cfg: d.Config, log: d.Log, now: d.Now, limits: d.Limits, metrics: d.Metrics, auth: d.Auth, keys: d.Keys,
		members: d.Members, partners: d.Partners, wallet: d.Wallet, verifier: d.Verifier, status: d.Status, oidc: d.OIDC}
}

// Routes registers the API's routes on a.
func (h *Handler) Routes(a fiber.Router) {
	a.Get("/api/v1/time", h.serverTime)
	a.Get("/.well-known/alumnipass/keys.json", h.getKeys)
	a.Get("/.well-known/alumnipass/status-list", h.getStatusList)

	hr := []string{model.RoleAdmin, model.RoleHR}
	read := []string{model.RoleAdmin, model.RoleHR, model.RoleViewer}
	api := a.Group("/api/v1")
	api.Post("/members", h.bearer(hr...), h.createMember)
	api.Get("/members", h.bearer(read...), h.listMembers)
	api.Post("/members/import", h.bearer(hr...), h.importMembers)
	api.Get("/members/:id", h.bearer(read...), h.getMember)
	api.Post("/members/:id/revoke", h.bearer(hr...), h.memberStatus(members.ActionRevoke))
	api.Post("/members/:id/suspend", h.bearer(hr...), h.memberStatus(members.ActionSuspend))
	api.Post("/members/:id/reinstate", h.bearer(hr...), h.memberStatus(members.ActionReinstate))
	api.Post("/members/:id/cards", h.bearer(hr...), h.issueCard)
	api.Get("/members/:id/export", h.bearer(hr...), h.exportMember)
	api.Post("/members/:id/erase", h.bearer(model.RoleAdmin), h.eraseMember)
	api.Patch("/members/:id", h.bearer(hr...), h.patchMember)
	api.Get("/members/:id/guest-passes", h.bearer(read...), h.memberGuestPasses)
	api.Get("/members/:id/redemptions", h.bearer(read...), h.memberRedemptions)
	api.Get("/audit", h.bearer(read...), h.listAudit)

	// Bulk invitations: background jobs any instance's worker runs.
	api.Post("/invitations", h.bearer(hr...), h.createInvitation)
	api.Get("/invitations", h.bearer(read...), h.listInvitations)
	api.Get("/invitations/:id", h.bearer(read...), h.getInvitation)
	api.Get("/invitations/:id/items", h.bearer(read...), h.invitationItems)
	api.Post("/invitations/:id/cancel", h.bearer(hr...), h.cancelInvitation)

	// Console users: an admin's work.
	api.Get("/users", h.bearer(model.RoleAdmin), h.listUsers)
	api.Patch("/users/:id", h.bearer(model.RoleAdmin), h.patchUser)
	api.Post("/users/:id/reset-password", h.bearer(model.RoleAdmin), h.resetUserPassword)
	api.Post("/users/:id/reset-second-factor", h.bearer(model.RoleAdmin), h.resetUserSecondFactor)

	// A partner's own systems use a partner-manager token (made in the
	// /partner console or here): the partner routes only, on that partner
	// only (the partners service answers 404 for any other).
	partnerRoles := append(hr[:len(hr):len(hr)], model.RolePartnerManager)
	partnerRead := append(read[:len(read):len(read)], model.RolePartnerManager)
	api.Post("/partners", h.bearer(hr...), h.createPartner)
	api.Get("/partners", h.bearer(partnerRead...), h.listPartners)
	api.Get("/partners/:id", h.bearer(partnerRead...), h.getPartner)
	api.Post("/partners/:id/tokens", h.bearer(partnerRoles...), h.createPartnerToken)
	api.Put("/partners/:id/offline-limit", h.bearer(partnerRoles...), h.setOfflineLimit)
	api.Post("/partners/:id/venues", h.bearer(partnerRoles...), h.addVenue)
	api.Post("/partners/:id/keys", h.bearer(partnerRoles...), h.createKey)
	api.Get("/partners/:id/keys", h.bearer(partnerRoles...), h.listKeys)
	api.Post("/partners/:id/keys/:key/revoke", h.bearer(partnerRoles...), h.revokeKey)
	api.Post("/partners/:id/pairing-codes", h.bearer(partnerRoles...), h.createPairing)
	api.Post("/partners/:id/perks", h.bearer(partnerRoles...), h.createPerk)
	api.Get("/partners/:id/perks", h.bearer(partnerRead...), h.listPerks)
	api.Post("/partners/:id/oidc-clients", h.bearer(partnerRoles...), h.createOIDCClient)
	api.Get("/partners/:id/oidc-clients", h.bearer(partnerRoles...), h.listOIDCClients)
	api.Post("/partners/:id/oidc-clients/:client/revoke", h.bearer(partnerRoles...), h.revokeOIDCClient)
	// A partner's website records a perk used online with the member's
	// OpenID access token (not an API key).
	api.Post("/online-redemptions", h.redeemOnline)
	api.Get("/partners/:id/redemptions", h.bearer(partnerRead...), h.partnerRedemptions)
	api.Patch("/partners/:id", h.bearer(hr...), h.patchPartner)
	api.Patch("/partners/:id/venues/:venue", h.bearer(partnerRoles...), h.patchVenue)
	api.Patch("/partners/:id/perks/:perk", h.bearer(partnerRoles...), h.patchPerk)

	api.Post("/devices/pair", h.pairDevice)
	api.Get("/devices/me", h.bearer(model.RoleDevice), h.deviceMe)
	api.Post("/verify", h.bearer(model.RoleDevice), h.verify)
	api.Post("/verify/offline", h.bearer(model.RoleDevice), h.uploadOfflineScans)
	api.Post("/redemptions", h.bearer(model.RoleDevice), h.redeem)

	api.Post("/wallet/enroll", h.walletEnroll)
	api.Get("/wallet/code", h.walletAuth, h.walletCode)
	api.Post("/wallet/device", h.walletAuth, h.walletBindDevice)
	api.Get("/wallet/code.png", h.walletAuth, h.walletCodePNG)
	api.Post("/wallet/guest-passes", h.walletAuth, h.walletCreateGuestPass)
	api.Post("/wallet/guest-passes/:id/cancel", h.walletAuth, h.walletCancelGuestPass)
}

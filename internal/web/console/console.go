// Package console is the HR console (/admin) and the partner manager's
// console (/partner): server-rendered pages behind a session with a second
// factor, a CSRF token on every form, the import preview, reports, letters
// and console users.
package console

import (
	"context"
	"io/fs"
	"log/slog"
	"time"

	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/config"
	"github.com/alumnipass/alumnipass/internal/i18n"
	"github.com/alumnipass/alumnipass/internal/members"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/partners"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// The feature services the consoles call, as the methods they call.
type (
	// consoleAuth is sign-in, the second factor, sessions and console users.
	consoleAuth interface {
		Session(ctx context.Context, cookie string) (*auth.Session, error)
		SignIn(ctx context.Context, email, password, addr string) (cookie string, a *model.Admin, err error)
		PendingTOTP(ctx context.Context, s *auth.Session) (url, secret string, err error)
		CheckTOTP(ctx context.Context, s *auth.Session, code string) (cookie string, err error)
		RecordTOTPEnrolled(ctx context.Context, p *model.Principal) error
		SignOut(ctx context.Context, s *auth.Session) error
		ListAdmins(ctx context.Context) ([]model.Admin, error)
		AdminByEmail(ctx context.Context, email string) (*model.Admin, error)
		AddAdmin(ctx context.Context, p *model.Principal, in auth.NewAdmin) (*model.Admin, error)
		UpdateAdmin(ctx context.Context, p *model.Principal, id string, patch auth.AdminPatch) (*model.Admin, error)
		ResetPassword(ctx context.Context, p *model.Principal, id, password string) error
		ResetSecondFactor(ctx context.Context, p *model.Principal, id string) error
	}
	memberService interface {
		Create(ctx context.Context, p *model.Principal, in members.Input) (*model.Member, error)
		Update(ctx context.Context, p *model.Principal, id string, patch members.Patch) (*model.Member, error)
		List(ctx context.Context, f members.MemberFilter) (ms []model.Member, next string, err error)
		Get(ctx context.Context, id string) (*members.Detail, error)
		ByIDs(ctx context.Context, ids []string) (map[string]model.Member, error)
		ChangeStatus(ctx context.Context, p *model.Principal, id, action, reason string) (*model.Member, error)
		IssueCard(ctx context.Context, p *model.Principal, memberID string) (*members.IssuedCard, error)
		Import(ctx context.Context, p *model.Principal, data []byte, encoding string, dryRun bool) (*members.ImportReport, error)
		KeepUpload(ctx context.Context, p *model.Principal, data []byte) (string, error)
		KeptUpload(ctx context.Context, p *model.Principal, hash string) ([]byte, error)
		DropUpload(ctx context.Context, p *model.Principal, hash string) error
		Audit(ctx context.Context, f members.AuditFilter) ([]model.AuditEntry, error)
		Counts(ctx context.Context) (map[string]int, error)
		Tiers(ctx context.Context) ([]string, error)
		GuestPasses(ctx context.Context, memberID string, limit int) ([]model.GuestPass, error)
		Redemptions(ctx context.Context, memberID string, limit int) ([]members.RedemptionRow, error)
		PendingEnrollment(ctx context.Context, memberID, token string) (*model.Member, *model.Card, error)
		RecordEnrollmentSent(ctx context.Context, p *model.Principal, memberID, cardID, to, via string) error
	}
	partnerService interface {
		OfflineLimit(ctx context.Context, p *model.Principal, partnerID string) (int, error)
		SetOfflineLimit(ctx context.Context, p *model.Principal, partnerID string, minutes int) error
		UpdatePartner(ctx context.Context, p *model.Principal, id string, patch partners.PartnerPatch) (*partners.PartnerDetail, error)
		UpdateVenue(ctx context.Context, p *model.Principal, partnerID, venueID string, patch partners.VenuePatch) (*model.Venue, error)
		UpdatePerk(ctx context.Context, p *model.Principal, partnerID, perkID string, patch partners.PerkPatch) (*model.Perk, error)
		CreatePartner(ctx context.Context, p *model.Principal, in partners.PartnerInput) (*partners.PartnerDetail, error)
		CreateManagerToken(ctx context.Context, p *model.Principal, partnerID, name string) (*partners.IssuedKey, error)
		List(ctx context.Context, p *model.Principal) ([]model.Partner, error)
		Get(ctx context.Context, p *model.Principal, id string) (*partners.PartnerDetail, error)
		AddVenue(ctx context.Context, p *model.Principal, partnerID, name string) (*model.Venue, error)
		CreateKey(ctx context.Context, p *model.Principal, partnerID, venueID, name string) (*partners.IssuedKey, error)
		Keys(ctx context.Context, p *model.Principal, partnerID string) ([]model.APIKey, error)
		RevokeKey(ctx context.Context, p *model.Principal, partnerID, keyID string) error
		CreatePairing(ctx context.Context, p *model.Principal, partnerID, venueID, name, baseURL string) (*partners.Pairing, error)
		CreatePerk(ctx context.Context, p *model.Principal, partnerID string, in partners.PerkInput) (*model.Perk, error)
		Perks(ctx context.Context, p *model.Principal, partnerID string) ([]model.Perk, error)
		Report(ctx context.Context, p *model.Principal, partnerID string, since time.Time) ([]partners.ReportLine, error)
		Summary(ctx context.Context, p *model.Principal, partnerID string, since time.Time) ([]partners.ReportRow, error)
	}
)

// Deps is what the consoles need, given by web.New.
type Deps struct {
	Config   *config.Config
	Log      *slog.Logger
	Now      func() time.Time
	Render   *httpkit.Renderer
	Static   fs.FS
	Limits   *httpkit.Limits
	Metrics  *httpkit.Metrics
	Auth     consoleAuth
	Members  memberService
	Partners partnerService
	Jobs     jobService // bulk invitations
	// SignIns registers partner websites with the OpenID Provider.
	SignIns SignInClients
}

// Handler answers the console pages.
type Handler struct {
	cfg      *config.Config
	log      *slog.Logger
	now      func() time.Time
	render   *httpkit.Renderer
	cat      *i18n.Catalog
	static   fs.FS
	limits   *httpkit.Limits
	metrics  *httpkit.Metrics
	auth     consoleAuth
	members  memberService
	partners partnerService
	jobs     jobService
	signIns  SignInClients
}

// New builds the consoles' handler.
func New(d Deps) *Handler {
	return &Handler{cfg: d.Config, log: d.Log, now: d.Now, render: d.Render, cat: d.Render.Catalog(), static: d.Static,
		limits: d.Limits, metrics: d.Metrics, auth: d.Auth, members: d.Members, partners: d.Partners, jobs: d.Jobs,
		signIns: d.SignIns}
}

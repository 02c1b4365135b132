// Package public is the pages anyone may open: the wallet (/w) and its
// enrolment (/w/enroll), a guest pass (/g), the venue scanner (/scan), and
// the static assets they load.
package public

import (
	"context"
	"io/fs"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/alumnipass/alumnipass/internal/config"
	"github.com/alumnipass/alumnipass/internal/i18n"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/wallet"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// walletService is what the pages ask of the wallet.
type walletService interface {
	Inspect(ctx context.Context, token string) (*wallet.EnrolmentInfo, error)
	Enroll(ctx context.Context, token string, consent bool) (*wallet.Enrolment, error)
	Open(ctx context.Context, token string) (*wallet.Wallet, error)
	View(ctx context.Context, w *wallet.Wallet) (*wallet.View, error)
	GuestPass(ctx context.Context, id string) (*model.GuestPass, *model.Member, error)
}

// Deps is what the public pages need, given by web.New.
type Deps struct {
	Config  *config.Config
	Now     func() time.Time
	Render  *httpkit.Renderer
	Static  fs.FS
	Limits  *httpkit.Limits
	Metrics *httpkit.Metrics
	Wallet  walletService
	// Recovery is the lost-phone path of the membership.
	Recovery recoveryService
	// SignIns is the OpenID Provider's consent side (/oidc/approve).
	SignIns signIns
	Log     *slog.Logger
}

// Handler answers the public pages.
type Handler struct {
	cfg      *config.Config
	now      func() time.Time
	render   *httpkit.Renderer
	cat      *i18n.Catalog
	static   fs.FS
	limits   *httpkit.Limits
	metrics  *httpkit.Metrics
	wallet   walletService
	recovery recoveryService
	signIns  signIns
	log      *slog.Logger
}

// New builds the public pages' handler.
func New(d Deps) *Handler {
	return &Handler{cfg: d.Config, now: d.Now, render: d.Render, cat: d.Render.Catalog(), static: d.Static,
		limits: d.Limits, metrics: d.Metrics, wallet: d.Wallet, recovery: d.Recovery, signIns: d.SignIns, log: d.Log}
}

// StaticRoutes registers the embedded assets.
func (h *Handler) StaticRoutes(a fiber.Router) { h.staticRoutes(a) }

// Routes registers the pages.
func (h *Handler) Routes(a fiber.Router) {
	a.Get("/w/enroll/:token", h.enrollPage)
	a.Post("/w/enroll/:token", h.enrollSubmit)
	a.Get("/w", h.walletPage)
	a.Get("/w/recover", h.recoverAsk)
	a.Post("/w/recover", h.recoverRequest)
	a.Get("/w/recover/:token", h.recoverLink)
	a.Post("/w/recover/:token", h.recoverConfirm)
	a.Get("/g/:id", h.guestPage)
	a.Get("/g/:id/qr.png", h.guestPNG)
	a.Get("/scan", h.scanPage)
	a.Get("/oidc/approve", h.approvePage)
	a.Post("/oidc/approve", h.approveSubmit)
	a.Get("/oidc/approve/wait", h.approveWait)
	a.Get("/oidc/approve/continue", h.approveContinue)
	a.Get("/oidc/device", h.devicePage)
	a.Post("/oidc/device", h.deviceSubmit)
}

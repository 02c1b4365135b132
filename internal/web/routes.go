package web

import (
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/jobs"
	"github.com/alumnipass/alumnipass/internal/keyring"
	"github.com/alumnipass/alumnipass/internal/members"
	"github.com/alumnipass/alumnipass/internal/oidc"
	"github.com/alumnipass/alumnipass/internal/partners"
	"github.com/alumnipass/alumnipass/internal/statusfeed"
	"github.com/alumnipass/alumnipass/internal/verify"
	"github.com/alumnipass/alumnipass/internal/wallet"
	"github.com/alumnipass/alumnipass/internal/web/api"
	"github.com/alumnipass/alumnipass/internal/web/console"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
	"github.com/alumnipass/alumnipass/internal/web/public"
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
	Jobs     *jobs.Service // bulk invitations
	Status   *statusfeed.Feed
	OIDC     *oidc.Provider // the OpenID Provider for partner websites
	Throttle httpkit.Shared // rate limits counted in the database, across instances (internal/throttle)
}

// routes mounts the surfaces in one place: the static assets, the JSON
// API, the public pages, the consoles.
func (s *Server) routes() {
	pages := public.New(public.Deps{Config: s.cfg, Now: s.now, Render: s.render, Static: s.static,
		Limits: s.limits, Metrics: s.metrics, Wallet: s.svc.Wallet, Recovery: s.svc.Members, SignIns: s.svc.OIDC, Log: s.log})
	pages.StaticRoutes(s.app)
	api.New(api.Deps{Config: s.cfg, Log: s.log, Now: s.now, Limits: s.limits, Metrics: s.metrics,
		Jobs: s.svc.Jobs, Users: s.svc.Console, Auth: s.svc.Auth, Keys: s.svc.Keys, Members: s.svc.Members, Partners: s.svc.Partners,
		Wallet: s.svc.Wallet, Verifier: s.svc.Verifier, Status: s.svc.Status, OIDC: s.svc.OIDC}).Routes(s.app)
	pages.Routes(s.app)
	// The OpenID Provider's protocol routes (discovery, authorize, token,
	// userinfo, introspect, revoke, keys, callback): the library's handler,
	// mounted here only; its consent page /oidc/approve is one of pages'.
	if s.svc.OIDC != nil {
		s.app.All(oidc.Path+"/*", adaptor.HTTPHandler(s.svc.OIDC.Handler()))
	}
	var signIns console.SignInClients
	if s.svc.OIDC != nil {
		signIns = s.svc.OIDC
	}
	console.New(console.Deps{Config: s.cfg, Log: s.log, Now: s.now, Render: s.render, Static: s.static,
		Limits: s.limits, Metrics: s.metrics, Auth: s.svc.Console, Members: s.svc.Members,
		Partners: s.svc.Partners, Jobs: s.svc.Jobs, SignIns: signIns}).Routes(s.app)
}

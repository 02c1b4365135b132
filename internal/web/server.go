// Package web builds the HTTP app of alumnipass on Fiber: the global
// middleware (recovery, request ids, access log and metrics, security
// headers, body limits, compression), /healthz, /readyz and /metrics, and
// the three surfaces mounted in one place (routes.go): api (the JSON API),
// public (wallet, guest pass, scanner, assets) and console (the HR and
// partner consoles), which share httpkit. Handlers are thin: parse, call a
// feature service, respond. Nothing imports this package but cmd.
package web

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/compress"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/alumnipass/alumnipass/internal/config"
	"github.com/alumnipass/alumnipass/internal/i18n"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// Deps is everything the web layer needs, wired by cmd.
type Deps struct {
	Config   *config.Config
	Log      *slog.Logger
	Registry *prometheus.Registry
	Ready    func(ctx context.Context) error
	Catalog  *i18n.Catalog
	Static   fs.FS
	Services Services
	Now      func() time.Time
}

// Server holds the Fiber app and what handlers share.
type Server struct {
	app     *fiber.App
	cfg     *config.Config
	log     *slog.Logger
	static  fs.FS
	render  *httpkit.Renderer
	metrics *httpkit.Metrics
	svc     Services
	now     func() time.Time
	limits  *httpkit.Limits
}

// New builds the app with every route.
func New(d Deps) (*Server, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Server{cfg: d.Config, log: d.Log, static: d.Static, svc: d.Services, now: d.Now}
	s.metrics = httpkit.NewMetrics(d.Registry)
	if d.Services.Throttle == nil {
		return nil, errors.New("web: no shared rate limiter (Services.Throttle)")
	}
	s.limits = httpkit.NewLimits(d.Now, d.Services.Throttle)
	render, err := httpkit.NewRenderer(d.Catalog, d.Static, d.Config.CookieSecure)
	if err != nil {
		return nil, err
	}
	s.render = render
	s.app = fiber.New(fiber.Config{
		AppName:   "alumnipass",
		BodyLimit: d.Config.BodyLimit,
		// Bodies are streamed and limited per route by httpkit.LimitBody,
		// before they are read (httpkit/body_limits.go); multipart forms
		// are parsed only when a route asks for them.
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		ErrorHandler:                 httpkit.ErrorHandler{Log: d.Log, Render: render}.Handle,
		DisableStartupMessage:        true,
		ReadTimeout:                  15 * time.Second,
		WriteTimeout:                 30 * time.Second,
		IdleTimeout:                  120 * time.Second,
		ReadBufferSize:               16 << 10,
		ProxyHeader:                  "",
	})
	s.app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e any) {
		s.log.Error("panic", "path", c.Path(), "panic", e)
	}}))
	s.app.Use(requestid.New(requestid.Config{Header: "X-Request-Id"}))
	s.app.Use(s.accessLog)
	s.app.Use(s.securityHeaders)
	s.app.Use(httpkit.LimitBody(d.Config.BodyLimit))
	s.app.Use(compress.New(compress.Config{Level: compress.LevelBestSpeed, Next: func(c *fiber.Ctx) bool {
		// Pages and assets are compressed; the small JSON answers of the
		// API are not worth the CPU on the scan path.
		return strings.HasPrefix(c.Path(), "/api/") || c.Path() == "/metrics"
	}}))

	s.app.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) })
	s.app.Get("/readyz", func(c *fiber.Ctx) error {
		if err := d.Ready(c.UserContext()); err != nil {
			s.log.Warn("not ready", "err", err)
			return c.Status(http.StatusServiceUnavailable).JSON(httpkit.APIError{Error: httpkit.APIErrorBody{Code: "not_ready", Message: "The database does not answer."}})
		}
		return c.JSON(fiber.Map{"status": "ready"})
	})
	s.app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{})))
	s.routes()
	return s, nil
}

// App returns the Fiber app (tests call App().Test).
func (s *Server) App() *fiber.App { return s.app }

// Listen serves until ctx is done, then drains in-flight requests.
func (s *Server) Listen(ctx context.Context, addr string, shutdownTimeout time.Duration) error {
	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLS() {
			// Local HTTPS (ALUMNIPASS_TLS_CERT/KEY): a tablet's camera
			// needs a secure origin on a network address.
			errc <- s.app.ListenTLS(addr, s.cfg.TLSCert, s.cfg.TLSKey)
			return
		}
		errc <- s.app.Listen(addr)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down: finishing in-flight requests", "timeout", shutdownTimeout.String())
	if err := s.app.ShutdownWithTimeout(shutdownTimeout); err != nil {
		return err
	}
	return <-errc
}

func (s *Server) accessLog(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	status := c.Response().StatusCode()
	if err != nil {
		if herr := s.app.ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(http.StatusInternalServerError)
		}
		status = c.Response().StatusCode()
	}
	route := c.Route().Path
	elapsed := time.Since(start)
	s.metrics.Observe(c.Method(), route, status, elapsed)
	if s.log.Enabled(c.UserContext(), slog.LevelDebug) || status >= 500 || !strings.HasPrefix(route, "/static") && route != "/api/v1/verify" && route != "/healthz" {
		s.log.Info("request", "request_id", httpkit.RequestID(c), "method", c.Method(), "route", route, "status", status, "ms", elapsed.Milliseconds())
	}
	return nil
}

func (s *Server) securityHeaders(c *fiber.Ctx) error {
	h := &c.Response().Header
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	if s.cfg.CookieSecure {
		h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	}
	return c.Next()
}

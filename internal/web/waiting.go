package web

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/alumnipass/alumnipass/internal/web/httpkit"
	"github.com/gofiber/fiber/v2"
)

// Waiting is the stand-in server while the database is not reachable at
// start: it is alive (/healthz 200) but not ready (/readyz 503), and every
// other request gets 503 in the API's error shape, so a load balancer
// keeps traffic away and an orchestrator does not restart it in a loop.
type Waiting struct {
	app *fiber.App
	log *slog.Logger
}

// NewWaiting builds the stand-in server.
func NewWaiting(log *slog.Logger) *Waiting {
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ReadTimeout: 5 * time.Second})
	unavailable := func(c *fiber.Ctx) error {
		c.Set("Retry-After", "5")
		return c.Status(http.StatusServiceUnavailable).JSON(httpkit.APIError{Error: httpkit.APIErrorBody{Code: "unavailable",
			Message: "The service is starting and cannot reach its database yet; try again shortly."}})
	}
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) })
	app.Get("/readyz", func(c *fiber.Ctx) error {
		return c.Status(http.StatusServiceUnavailable).JSON(httpkit.APIError{Error: httpkit.APIErrorBody{Code: "not_ready", Message: "The database does not answer."}})
	})
	app.Use(unavailable)
	return &Waiting{app: app, log: log}
}

// Serve listens on addr until ctx is done or Stop is called.
func (w *Waiting) Serve(ctx context.Context, addr string) {
	go func() {
		<-ctx.Done()
		_ = w.app.Shutdown()
	}()
	if err := w.app.Listen(addr); err != nil {
		w.log.Warn("waiting server", "err", err)
	}
}

// Stop closes the stand-in server so the real one can take the address.
func (w *Waiting) Stop() { _ = w.app.ShutdownWithTimeout(2 * time.Second) }

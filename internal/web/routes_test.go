package web

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/alumnipass/alumnipass/internal/config"
	"github.com/alumnipass/alumnipass/internal/i18n"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
	"github.com/alumnipass/alumnipass/static"
)

// New mounts every surface once: each has its routes, and no method and
// path is registered twice (a second registration would never answer).
func TestSurfacesMountedOnce(t *testing.T) {
	cat, err := i18n.Load(static.FS, "i18n")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Deps{Config: &config.Config{BodyLimit: 1 << 20}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registry: prometheus.NewRegistry(), Ready: func(context.Context) error { return nil }, Catalog: cat, Static: static.FS,
		Services: Services{Throttle: httpkit.NewLocalShared(time.Now)}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range s.App().GetRoutes(true) {
		if r.Method == "HEAD" || r.Method == "USE" {
			continue
		}
		key := r.Method + " " + r.Path
		if seen[key] {
			t.Errorf("%s is registered twice", key)
		}
		seen[key] = true
	}
	for _, want := range []string{
		"GET /healthz", "GET /readyz", "GET /metrics", // web
		"POST /api/v1/verify", "GET /api/v1/time", "GET /.well-known/alumnipass/keys.json", // api
		"GET /w", "GET /g/:id", "GET /scan", "GET /static/*", // public
		"GET /admin/login", "GET /admin/members", "GET /partner/", // console
	} {
		if !seen[want] {
			t.Errorf("%s is not mounted", want)
		}
	}
}

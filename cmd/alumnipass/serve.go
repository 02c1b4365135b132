package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/web"
)

func cmdServe(ctx context.Context, args []string, stderr io.Writer) error {
	fl := flag.NewFlagSet("serve", flag.ContinueOnError)
	fl.SetOutput(stderr)
	addr := fl.String("addr", "", "listen address (overrides ALUMNIPASS_ADDR)")
	seed := fl.Bool("seed", false, "create demo data on an empty database (ALUMNIPASS_SEED)")
	reset := fl.Bool("reset", false, "with --seed: delete the demo's embedded database first and start the demo afresh (make reset-demo)")
	if err := fl.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if *reset && !*seed {
		return usageError("--reset only goes with --seed: it starts the demo afresh")
	}
	start := time.Now()
	cfg, err := loadConfig(os.LookupEnv)
	if err != nil {
		return err
	}
	if *addr != "" {
		cfg.Addr = *addr
	}
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	softMemoryLimit(cfg.CardCacheSize, log)
	if *reset {
		if err := resetDemo(cfg, stderr); err != nil {
			return err
		}
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		if st.Dialect() != store.Postgres {
			return fmt.Errorf("migrate: %w", err)
		}
		// PostgreSQL is not reachable yet: answer /healthz and a 503
		// /readyz meanwhile, and start for real once it is.
		waiting := web.NewWaiting(log)
		go waiting.Serve(ctx, cfg.Addr)
		err = migrateOrWait(ctx, st, log)
		waiting.Stop()
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	if err := st.CheckSchema(ctx); err != nil {
		return err
	}
	if err := st.Listen(ctx, log); err != nil {
		return err
	}
	app, err := newApplication(ctx, cfg, log, st, time.Now)
	if err != nil {
		return err
	}
	defer app.close()
	if *seed || cfg.Seed {
		if err := seedDemo(ctx, app, stderr); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	go app.background(ctx)
	stopInvitations, err := startInvitations(ctx, app, app.svc.Jobs)
	if err != nil {
		return err
	}
	defer stopInvitations()
	log.Info("alumnipass ready", "addr", cfg.Addr, "tls", cfg.TLS(), "database", st.Dialect(), "startup_ms", time.Since(start).Milliseconds(), "base_url", cfg.BaseURL)
	return app.server.Listen(ctx, cfg.Addr, cfg.ShutdownTimeout)
}

// background runs the periodic jobs: key usage flush and the sweep of
// ended rate limits (every minute), retention purge.
func (a *application) background(ctx context.Context) {
	flush := time.NewTicker(time.Minute)
	purge := time.NewTicker(6 * time.Hour)
	defer flush.Stop()
	defer purge.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-flush.C:
			if err := a.svc.Auth.FlushUsage(ctx); err != nil {
				a.log.Warn("flush key usage", "err", err)
			}
			if err := a.limits.Sweep(ctx); err != nil {
				a.log.Warn("sweep rate limits", "err", err)
			}
		case <-purge.C:
			n, err := a.st.PurgeBefore(ctx, time.Now().Add(-a.cfg.Retention))
			if err != nil {
				a.log.Warn("retention purge", "err", err)
			} else if n > 0 {
				a.log.Info("retention purge", "rows", n)
			}
			// Expired sign-ins and access tokens (an hour late, so that a
			// reused code is still recognised while it could matter).
			if n, err := a.st.PurgeOIDC(ctx, time.Now().Add(-time.Hour)); err != nil {
				a.log.Warn("oidc purge", "err", err)
			} else if n > 0 {
				a.log.Info("oidc purge", "rows", n)
			}
		}
	}
}

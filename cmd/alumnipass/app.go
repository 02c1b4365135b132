package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/config"
	"github.com/alumnipass/alumnipass/internal/i18n"
	"github.com/alumnipass/alumnipass/internal/jobs"
	"github.com/alumnipass/alumnipass/internal/keyring"
	"github.com/alumnipass/alumnipass/internal/members"
	"github.com/alumnipass/alumnipass/internal/oidc"
	"github.com/alumnipass/alumnipass/internal/partners"
	"github.com/alumnipass/alumnipass/internal/seal"
	"github.com/alumnipass/alumnipass/internal/statusfeed"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/throttle"
	"github.com/alumnipass/alumnipass/internal/verify"
	"github.com/alumnipass/alumnipass/internal/wallet"
	"github.com/alumnipass/alumnipass/internal/web"
	"github.com/alumnipass/alumnipass/static"
)

// application is one wired process.
type application struct {
	cfg    *config.Config
	log    *slog.Logger
	st     *store.Store
	sealer *seal.Sealer
	svc    web.Services
	vlog   *verify.Log
	server *web.Server
	reg    *prometheus.Registry
	limits *throttle.Service
}

// openStore loads configuration essentials and opens the database.
func openStore(ctx context.Context, cfg *config.Config) (*store.Store, error) {
	return store.Open(ctx, store.Options{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir, MaxConns: cfg.MaxConns})
}

// newSealer returns the master-key sealer, creating a development key when
// none is configured.
func newSealer(cfg *config.Config, log *slog.Logger) (*seal.Sealer, error) {
	generated, err := cfg.EnsureMasterKey()
	if err != nil {
		return nil, err
	}
	if cfg.DevMasterKey {
		what := "using the development master key"
		if generated {
			what = "GENERATED a development master key"
		}
		log.Warn("!!! ALUMNIPASS_MASTER_KEY is not set: " + what + " in " + cfg.DataDir +
			". Secrets at rest are only as safe as that file. Set ALUMNIPASS_MASTER_KEY in production.")
	}
	return seal.New(cfg.MasterKey)
}

// newApplication wires every service on an open, migrated store.
func newApplication(ctx context.Context, cfg *config.Config, log *slog.Logger, st *store.Store, now func() time.Time) (*application, error) {
	sealer, err := newSealer(cfg, log)
	if err != nil {
		return nil, err
	}
	keys, err := keyring.New(ctx, st, sealer, now)
	if err != nil {
		return nil, err
	}
	// Two log writers: every scan waiting while a batch commits goes into
	// the next one; the second writer starts a batch of its own, while the
	// first is in flight, only once 32 scans wait, so batches stay large
	// (docs/benchmarks.md: four free writers split them into small batches
	// and cost PostgreSQL 40 % more CPU per scan; one left a core idle
	// while its batch committed).
	vlog := verify.NewLog(st, 2, 512, 32)
	limits, err := throttle.New(ctx, st, now, log)
	if err != nil {
		return nil, err
	}
	pseudo := hmac.New(sha256.New, cfg.MasterKey)
	pseudo.Write([]byte("alumnipass partner pseudonyms v1"))
	verifier := verify.New(st, keys, sealer, vlog, now, cfg.CardCacheSize)
	svc := web.Services{
		Auth:    auth.New(st, now),
		Console: auth.NewConsole(st, sealer, now),
		Keys:    keys,
		Members: members.New(st, keys, sealer, now, members.Options{BaseURL: cfg.BaseURL, CardValidity: cfg.CardValidity, EnrollValidity: cfg.EnrollValidity}),
		Wallet: wallet.New(st, keys, sealer, now, wallet.Options{BaseURL: cfg.BaseURL, GuestQuota: cfg.GuestQuota,
			ConsentVersion: cfg.ConsentVersion}),
		Partners: partners.New(st, pseudo.Sum(nil), now, partners.Options{MaxKeysPerVenue: cfg.MaxKeysPerVenue, RecentScans: verifier}),
		Verifier: verifier,
		Jobs:     jobs.New(st, now),
		Status:   statusfeed.New(st, keys, now),
		Throttle: limits,
	}
	// The OpenID Provider for partner websites: pairwise subjects from the
	// partners service's pseudonyms, its token key sealed like the issuer
	// keys, and the opaque tokens' key derived from the master key so that
	// every instance reads every token.
	tokenKey := hmac.New(sha256.New, cfg.MasterKey)
	tokenKey.Write([]byte("alumnipass oidc tokens v1"))
	svc.OIDC, err = oidc.New(ctx, st, sealer, svc.Partners, now, oidc.Options{BaseURL: cfg.BaseURL, CryptoKey: [32]byte(tokenKey.Sum(nil))})
	if err != nil {
		return nil, err
	}
	cat, err := i18n.Load(static.FS, "i18n")
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(st.DB(), "alumnipass"))
	factsRead := func(memory bool) func() float64 {
		return func() float64 {
			m, d := svc.Partners.RedemptionFactsRead()
			if memory {
				return float64(m)
			}
			return float64(d)
		}
	}
	for _, src := range []string{"memory", "database"} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "alumnipass_redemption_facts_total",
			Help:        "Redemptions by where their facts were read: memory (a scan this instance answered a moment ago) or the database.",
			ConstLabels: prometheus.Labels{"source": src}}, factsRead(src == "memory")))
	}
	var staticFS fs.FS = static.FS
	server, err := web.New(web.Deps{Config: cfg, Log: log, Registry: reg, Ready: st.Ping, Catalog: cat, Static: staticFS, Services: svc, Now: now})
	if err != nil {
		return nil, err
	}
	return &application{cfg: cfg, log: log, st: st, sealer: sealer, svc: svc, vlog: vlog, server: server, reg: reg, limits: limits}, nil
}

// close flushes what is buffered and closes the database.
func (a *application) close() {
	a.svc.Verifier.Close()
	a.vlog.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.svc.Auth.FlushUsage(ctx); err != nil {
		a.log.Warn("flush key usage", "err", err)
	}
}

// loadConfig reads the environment; errors are one clear line.
func loadConfig(getenv config.Getenv) (*config.Config, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return cfg, nil
}

// migrateOrWait applies migrations, retrying while PostgreSQL is down so a
// service started before its database comes up on its own.
func migrateOrWait(ctx context.Context, st *store.Store, log *slog.Logger) error {
	delay := 500 * time.Millisecond
	for {
		_, err := st.Migrate(ctx)
		if err == nil {
			return nil
		}
		if st.Dialect() != store.Postgres || ctx.Err() != nil {
			return err
		}
		log.Warn("database not ready; retrying migrations", "err", err, "in", delay.String())
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, 10*time.Second)
	}
}

// cliEnv is what one-shot commands share.
type cliEnv struct {
	cfg    *config.Config
	log    *slog.Logger
	stderr io.Writer
}

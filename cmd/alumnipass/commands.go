package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/keyring"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/oidc"
	"github.com/alumnipass/alumnipass/internal/seal"
	"github.com/alumnipass/alumnipass/internal/store"
)

// withStore loads config, opens and (optionally) migrates the store.
func withStore(ctx context.Context, stderr io.Writer, migrate bool, fn func(st *store.Store, cfgLog *cliEnv) error) error {
	cfg, err := loadConfig(os.LookupEnv)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel, "text")
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if migrate {
		if _, err := st.Migrate(ctx); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	return fn(st, &cliEnv{cfg: cfg, log: log, stderr: stderr})
}

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 || (args[0] != "up" && args[0] != "status") {
		return usageError("migrate takes up or status")
	}
	return withStore(ctx, stderr, false, func(st *store.Store, _ *cliEnv) error {
		if args[0] == "up" {
			applied, err := st.Migrate(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "applied %d migration(s) on %s\n", len(applied), st.Dialect())
			return nil
		}
		ms, err := st.MigrationStatus(ctx)
		if err != nil {
			return err
		}
		for _, m := range ms {
			state := "pending"
			if m.Applied {
				state = "applied"
			}
			fmt.Fprintf(stdout, "%05d  %-8s %s\n", m.Version, state, m.Name)
		}
		return nil
	})
}

func cmdToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return usageError("token takes create --role hr --name NAME")
	}
	fl := flag.NewFlagSet("token create", flag.ContinueOnError)
	fl.SetOutput(stderr)
	role := fl.String("role", "hr", "hr, admin or viewer")
	name := fl.String("name", "", "who or what the token is for")
	if err := fl.Parse(args[1:]); err != nil {
		return usageError(err.Error())
	}
	if *name == "" {
		return usageError("--name is required")
	}
	return withStore(ctx, stderr, true, func(st *store.Store, _ *cliEnv) error {
		tok, err := auth.New(st, time.Now).CreateHRToken(ctx, *name, *role)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Created %s token %q. It is shown only this once; store it safely:\n%s\n", *role, *name, tok)
		return nil
	})
}

func cmdKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError("keys takes list, rotate, retire KID, rotate-oidc, retire-oidc KID or rewrap")
	}
	cli := &model.Principal{Kind: "cli", ID: "cli", Name: "alumnipass keys", Role: model.RoleAdmin}
	return withStore(ctx, stderr, true, func(st *store.Store, env *cliEnv) error {
		sealer, err := newSealer(env.cfg, env.log)
		if err != nil {
			return err
		}
		if args[0] == "rewrap" {
			if env.cfg.MasterKeyOld == nil {
				return usageError("set ALUMNIPASS_MASTER_KEY_OLD to the old key and ALUMNIPASS_MASTER_KEY to the new one")
			}
			old, err := seal.New(env.cfg.MasterKeyOld)
			if err != nil {
				return err
			}
			k, c, err := keyring.Rewrap(ctx, st, old, sealer)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "re-encrypted %d signing key(s) and %d card secret(s) under the new master key\n", k, c)
			n, err := oidc.Rewrap(ctx, st, old, sealer)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "re-encrypted %d OpenID token signing key(s)\n", n)
			return nil
		}
		ring, err := keyring.New(ctx, st, sealer, time.Now)
		if err != nil {
			return err
		}
		switch args[0] {
		case "list":
			infos, err := ring.List(ctx)
			if err != nil {
				return err
			}
			for _, k := range infos {
				fmt.Fprintf(stdout, "%s  %-8s %s\n", k.Kid, k.Status, k.Created.Format(time.RFC3339))
			}
			oks, err := st.OIDCSigningKeys(ctx)
			if err != nil {
				return err
			}
			for _, k := range oks { // the OpenID Provider's token keys, "oidc-…"
				fmt.Fprintf(stdout, "%s  %-8s %s\n", k.KeyID, k.Status, k.CreatedAt.Format(time.RFC3339))
			}
		case "retire-oidc":
			if len(args) != 2 {
				return usageError("keys retire-oidc takes a key id")
			}
			if err := oidc.RetireSigningKey(ctx, st, time.Now, cli, args[1]); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "OpenID token signing key %s retired: it has left the JWKS\n", args[1])
		case "rotate-oidc":
			kid, err := oidc.RotateSigningKey(ctx, st, sealer, time.Now, cli)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "new OpenID token signing key %s is active; the previous one stays in the JWKS\n", kid)
		case "rotate":
			kid, err := ring.Rotate(ctx, cli)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "new signing key %s is active; older keys keep verifying until retired\n", kid)
		case "retire":
			if len(args) != 2 {
				return usageError("keys retire takes a key id")
			}
			if err := ring.Retire(ctx, args[1], cli); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "signing key %s retired: codes it signed now answer unknown_key\n", args[1])
		default:
			return usageError("keys takes list, rotate, retire KID, rotate-oidc, retire-oidc KID or rewrap")
		}
		return nil
	})
}

func cmdImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("import", flag.ContinueOnError)
	fl.SetOutput(stderr)
	dry := fl.Bool("dry-run", false, "check and report, write nothing")
	enc := fl.String("encoding", "", "utf-8 or cp932 (default: detect)")
	if err := fl.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if fl.NArg() != 1 {
		return usageError("import takes one CSV file")
	}
	data, err := os.ReadFile(fl.Arg(0))
	if err != nil {
		return fmt.Errorf("read %s: %w", fl.Arg(0), err)
	}
	return withStore(ctx, stderr, true, func(st *store.Store, env *cliEnv) error {
		app, err := newApplication(ctx, env.cfg, env.log, st, time.Now)
		if err != nil {
			return err
		}
		defer app.close()
		p := &model.Principal{Kind: "cli", ID: "cli", Name: "alumnipass import", Role: model.RoleHR}
		rep, err := app.svc.Members.Import(ctx, p, data, *enc, *dry)
		if err != nil {
			return err
		}
		for _, pr := range rep.Problems {
			fmt.Fprintf(stdout, "line %d, column %q: %s (%s)\n", pr.Line, pr.Column, pr.Message, pr.Code)
		}
		if len(rep.Problems) > 0 {
			return fmt.Errorf("%d problem(s); nothing was imported", len(rep.Problems))
		}
		verb := "imported"
		if *dry {
			verb = "dry run, nothing written"
		}
		fmt.Fprintf(stdout, "%s: %d created, %d updated, %d unchanged\n", verb, rep.Created, rep.Updated, rep.Unchanged)
		return nil
	})
}

func cmdPurge(ctx context.Context, stdout, stderr io.Writer) error {
	return withStore(ctx, stderr, true, func(st *store.Store, env *cliEnv) error {
		n, err := st.PurgeBefore(ctx, time.Now().Add(-env.cfg.Retention))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "purged %d row(s) older than %s\n", n, strings.TrimSuffix(env.cfg.Retention.String(), "0m0s"))
		return nil
	})
}

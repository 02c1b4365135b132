// Command alumnipass is the whole service in one binary: serve, migrate,
// token, keys and import. main only parses subcommands and wires packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `alumnipass — alumni membership cards, guest passes and verification

Usage:
  alumnipass serve                          run the HTTP service (migrates first)
  alumnipass migrate up|status              apply or list schema migrations
  alumnipass token create --role hr --name NAME
                                            print a new HR API token (shown once)
  alumnipass keys list|rotate|retire KID|rotate-oidc|retire-oidc KID|rewrap
                                            manage signing keys and the master key
  alumnipass import [--dry-run] [--encoding=cp932] FILE
                                            import members from an HR CSV export
  alumnipass purge                          delete verifications older than the retention
  alumnipass healthcheck                    exit 0 when the local server answers /healthz
  alumnipass verify-offline --keys KEYS.json --status STATUS-LIST [--status DELTA…] CODE
                                            decide about a code without the server; JSON verdict

Configuration comes from the environment; see README.md.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprint(os.Stderr, usage)
			fmt.Fprintln(os.Stderr, "\nerror:", err)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "alumnipass:", err)
		os.Exit(1)
	}
}

// version is set at build time (-ldflags "-X main.version=…").
var version = "dev"

type usageError string

func (u usageError) Error() string { return string(u) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError("a subcommand is required")
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:], stderr)
	case "migrate":
		return cmdMigrate(ctx, args[1:], stdout, stderr)
	case "token":
		return cmdToken(ctx, args[1:], stdout, stderr)
	case "keys":
		return cmdKeys(ctx, args[1:], stdout, stderr)
	case "import":
		return cmdImport(ctx, args[1:], stdout, stderr)
	case "purge":
		return cmdPurge(ctx, stdout, stderr)
	case "healthcheck":
		return cmdHealthcheck(ctx, stdout)
	case "verify-offline":
		return cmdVerifyOffline(args[1:], os.Stdin, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "alumnipass", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usageError(fmt.Sprintf("unknown subcommand %q", args[0]))
}

// newLogger builds the process logger from configuration.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

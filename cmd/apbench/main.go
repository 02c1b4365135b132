// Command apbench measures alumnipass against the targets of DESIGN.md §7.
// It builds the real binary, starts real servers as child processes on a
// fresh PostgreSQL database (and on SQLite for start-up), drives them over
// HTTP from this process, and writes one markdown report. A server is never
// asked to measure itself: every number here is seen from outside, the way a
// scanner, an HR system or an operator would see it.
//
// Usage (what `make bench` runs):
//
//	go run ./cmd/apbench -out docs/benchmarks-latest.md
//
// PostgreSQL comes from BENCH_DATABASE_URL, default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable; apbench
// creates a database of its own there and drops it at the end, Ctrl-C too.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// options are the command-line knobs; the defaults are what the report in
// docs/benchmarks.md was made with.
type options struct {
	out         string
	adminURL    string
	pgMode      string
	pgSettings  string
	members     int
	venues      int
	conns       int
	duration    time.Duration
	ceilingFor  time.Duration
	redeemFor   time.Duration
	importRows  int
	startups    int
	revocations int
	keep        bool
	quietWait   time.Duration
	perf        string
	micro       bool
	setup       string        // "bulk" or "api"
	hot         int           // cards warmed into the cache for the cached verify phase
	coldFor     time.Duration // length of the cold verify phase
	counterFor  time.Duration // length of the counter transaction phase
	cacheSize   int           // ALUMNIPASS_CARD_CACHE_SIZE of the servers; 0 keeps the server's default
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "apbench:", err)
		os.Exit(1)
	}
}

func parseOptions(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fl := flag.NewFlagSet("apbench", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.StringVar(&o.out, "out", "docs/benchmarks-latest.md", "markdown report file (also printed)")
	fl.StringVar(&o.pgMode, "pg", "own", "own: a PostgreSQL cluster apbench starts for the run with the settings docs/operations.md recommends; url: the server of -database-url as it is configured")
	fl.StringVar(&o.pgSettings, "pg-settings", "", "with -pg own: more server settings, comma-separated name=value (e.g. commit_delay=100,commit_siblings=4)")
	fl.StringVar(&o.adminURL, "database-url", envOr("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL server to create the bench database on (BENCH_DATABASE_URL)")
	fl.IntVar(&o.members, "members", 1_000_000, "enrolled members (the population the cold and counter phases draw from); -members 100000 -cache 10000 for a quick run")
	fl.StringVar(&o.setup, "setup", "bulk", "how cards are made: bulk (import through the API, cards issued and enrolled by one COPY) or api (one HTTP call per card and per enrolment; small populations only)")
	fl.IntVar(&o.hot, "hot", 80000, "cards scanned in the warm-up, the cached verify phase draws from them (keep it under the card cache size)")
	fl.DurationVar(&o.coldFor, "cold", 10*time.Second, "length of the cold verify phase (cards drawn from the whole population)")
	fl.DurationVar(&o.counterFor, "counter", 10*time.Second, "length of the counter transaction phase (verify, then redeem)")
	fl.IntVar(&o.cacheSize, "cache", 0, "ALUMNIPASS_CARD_CACHE_SIZE for the servers (0: the server default, 100000)")
	fl.IntVar(&o.venues, "venues", 4, "venues of the bench partner, one device key each")
	fl.IntVar(&o.conns, "conns", 64, "concurrent keep-alive connections of the load phases")
	fl.DurationVar(&o.duration, "duration", 10*time.Second, "length of the verify and /healthz load phases")
	fl.DurationVar(&o.ceilingFor, "ceiling", 5*time.Second, "length of the crypto-only ceiling (all cores)")
	fl.DurationVar(&o.redeemFor, "redeem", 5*time.Second, "length of the redemption load phase")
	fl.IntVar(&o.importRows, "import-rows", 100000, "members in the import benchmark CSV")
	fl.IntVar(&o.startups, "startups", 5, "start-up measurements per database")
	fl.IntVar(&o.revocations, "revocations", 5, "revocation propagation trials")
	fl.DurationVar(&o.quietWait, "quiet-wait", 20*time.Second, "wait up to this long before each phase for the machine to be idle")
	fl.StringVar(&o.perf, "perf", "", "record a system-wide `perf` CPU profile of the verify phase into this file (builds the server with symbols)")
	fl.BoolVar(&o.micro, "micro", true, "also run the go test benchmarks of internal/credential and internal/csvimport")
	fl.BoolVar(&o.keep, "keep", false, "keep the bench database (for inspection)")
	if err := fl.Parse(args); err != nil {
		return nil, err
	}
	if o.perf != "" {
		abs, err := filepath.Abs(o.perf)
		if err != nil {
			return nil, err
		}
		o.perf = abs
	}
	if o.members < o.revocations+1 || o.venues < 1 || o.conns < 1 {
		return nil, errors.New("-members must exceed -revocations; -venues and -conns must be positive")
	}
	if o.pgMode != "own" && o.pgMode != "url" {
		return nil, errors.New("-pg must be own or url")
	}
	if o.setup != "bulk" && o.setup != "api" {
		return nil, errors.New("-setup must be bulk or api")
	}
	o.hot = min(max(o.hot, o.revocations+1), o.members)
	return o, nil
}

func envOr(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	b := &bench{opt: o, log: stderr, started: time.Now()}
	defer func() {
		b.cleanup.run(b.log)
		if ctx.Err() != nil {
			err = errors.Join(err, errors.New("interrupted; servers stopped and bench database dropped"))
		}
	}()
	rep, err := b.measure(ctx)
	if err != nil {
		return err
	}
	text := rep.markdown()
	fmt.Fprint(stdout, "\n"+text)
	if err := os.WriteFile(o.out, []byte(text), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	b.logf("report written to %s (%s in all)", o.out, time.Since(b.started).Round(time.Second))
	return nil
}

// cleanups run in reverse order of registration, whatever happened.
type cleanups []func() error

func (c *cleanups) add(fn func() error) { *c = append(*c, fn) }

func (c *cleanups) run(log io.Writer) {
	for i := len(*c) - 1; i >= 0; i-- {
		if err := (*c)[i](); err != nil {
			fmt.Fprintln(log, "apbench: cleanup:", err)
		}
	}
	*c = nil
}

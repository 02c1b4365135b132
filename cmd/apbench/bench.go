package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/alumnipass/alumnipass/internal/credential"
)

// bench is one run: its options, the built binary, the PostgreSQL admin
// connection and what must be undone at the end.
type bench struct {
	opt     *options
	log     io.Writer
	started time.Time
	cleanup cleanups
	workDir string
	binary  string
	pg      *postgres
	dbName  string // the bench database, whose backends count as PostgreSQL CPU
	// postmaster is the own cluster's server process (-pg own), whose
	// children are the only postgres processes counted; 0 counts them all.
	postmaster int
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "apbench [%5.1fs] %s\n", time.Since(b.started).Seconds(), fmt.Sprintf(format, args...))
}

// measure runs every benchmark in order and returns the report.
func (b *bench) measure(ctx context.Context) (*report, error) {
	rep := &report{opt: b.opt, date: time.Now(), machine: describeMachine(), goVersion: runtime.Version(),
		commit: gitCommit(), command: "go run ./cmd/apbench " + strings.Join(os.Args[1:], " ")}
	if err := b.prepare(ctx, rep); err != nil {
		return nil, err
	}
	if err := b.measurePostgres(ctx, rep); err != nil {
		return nil, err
	}
	var err error
	b.logf("start-up on SQLite, %d times", b.opt.startups)
	b.awaitQuiet(ctx, "start-up")
	if rep.startSQLite, err = b.measureStartup(ctx, "sqlite"); err != nil {
		return nil, err
	}
	b.logf("start-up on PostgreSQL, %d times", b.opt.startups)
	b.awaitQuiet(ctx, "start-up")
	if rep.startPostgres, err = b.measureStartup(ctx, "postgres"); err != nil {
		return nil, err
	}
	if b.opt.micro {
		b.logf("micro-benchmarks: go test -bench of %s", strings.Join(microPackages, " "))
		if rep.micro, err = runMicroBenchmarks(ctx, b.log); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// prepare builds the binary and connects to PostgreSQL.
func (b *bench) prepare(ctx context.Context, rep *report) error {
	var err error
	if b.workDir, err = os.MkdirTemp("", "apbench-"); err != nil {
		return err
	}
	b.cleanup.add(func() error { return os.RemoveAll(b.workDir) })
	b.logf("building cmd/alumnipass")
	bin := filepath.Join(b.workDir, "alumnipass")
	if b.opt.perf != "" {
		bin = b.opt.perf + ".alumnipass" // perf report needs the binary after apbench is gone
	}
	if b.binary, err = buildServer(ctx, bin, b.opt.perf != ""); err != nil {
		return err
	}
	adminURL := b.opt.adminURL
	rep.postgresSetup = "the server of -database-url, as it is configured"
	if b.opt.pgMode == "own" {
		b.logf("starting a PostgreSQL cluster for the run")
		cl, err := startOwnCluster(ctx, b.workDir, b.opt.pgSettings)
		if err != nil {
			return err
		}
		b.cleanup.add(cl.stop)
		adminURL, rep.postgresSetup, b.postmaster = cl.url(), cl.describe(), cl.postmasterPID()
	}
	if b.pg, err = openPostgres(ctx, adminURL); err != nil {
		return err
	}
	b.cleanup.add(b.pg.close)
	rep.postgresVersion = b.pg.version(ctx)
	return nil
}

// measurePostgres runs everything that needs the two PostgreSQL servers.
func (b *bench) measurePostgres(ctx context.Context, rep *report) error {
	name, dbURL, err := b.pg.createDatabase(ctx, "apbench")
	if err != nil {
		return err
	}
	b.dbName = name
	if !b.opt.keep {
		b.cleanup.add(func() error { return b.pg.dropDatabase(context.Background(), name) })
	}
	// The default configuration, as an operator would run it.
	env := serverEnv("DATABASE_URL="+dbURL, "ALUMNIPASS_DATA_DIR="+b.workDir+"/data", "ALUMNIPASS_MASTER_KEY="+benchMasterKey)
	if b.opt.cacheSize > 0 {
		env = append(env, fmt.Sprintf("ALUMNIPASS_CARD_CACHE_SIZE=%d", b.opt.cacheSize))
	}
	out, err := runCLI(ctx, b.binary, env, "token", "create", "--role", "hr", "--name", "bench")
	if err != nil {
		return err
	}
	hrToken := lastLine(out)
	a, err := b.startServer(ctx, "instance-a", env)
	if err != nil {
		return err
	}
	b.logf("instance A ready on %s (database %s); setting up %d members", a.url, name, b.opt.members)
	fx, err := b.setupFixture(ctx, newAPI(a.url, 5*time.Minute), hrToken, dbURL)
	if err != nil {
		return err
	}
	rep.fixture = fx
	if err := b.measureLoads(ctx, rep, a, fx); err != nil {
		return err
	}
	second, err := b.startServer(ctx, "instance-b", env)
	if err != nil {
		return err
	}
	b.logf("revocation: %d trials, revoke on A, poll B", b.opt.revocations)
	if rep.revocation, err = measureRevocation(ctx, a, second, fx, b.opt.revocations); err != nil {
		return err
	}
	if err := second.stop(); err != nil {
		return err
	}
	b.logf("import of %d members: dry run, then for real", b.opt.importRows)
	b.awaitQuiet(ctx, "import")
	if rep.imports, err = measureImport(ctx, a, hrToken, b.opt.importRows); err != nil {
		return err
	}
	return a.stop()
}

// measureLoads runs the HTTP load phases on instance A and the crypto
// ceiling while the server is idle. The warm-up shows every card's oldest
// acceptable code; the verify phase then starts in a later TOTP step, so
// that each card has three new codes for it.
func (b *bench) measureLoads(ctx context.Context, rep *report, a *server, fx *fixture) error {
	valid := &scans{}
	var err error
	hot := &fixture{keys: fx.keys, wallets: fx.wallets[:b.opt.hot], perkID: fx.perkID}
	b.logf("warm-up: first scan of each of %d cards", len(hot.wallets))
	if rep.warmup, err = b.runPhase(ctx, warmupLoad(a, hot, b.opt.conns, valid)); err != nil {
		return err
	}
	warmStep := totpStep(time.Now().Add(stepMargin))
	b.logf("GET /healthz: %d connections for %s", b.opt.conns, b.opt.duration)
	if rep.healthz, err = b.runPhase(ctx, healthzLoad(a, b.opt.conns, b.opt.duration)); err != nil {
		return err
	}
	b.logf("crypto-only ceiling for %s", b.opt.ceilingFor)
	b.awaitQuiet(ctx, "crypto ceiling")
	if rep.crypto, err = measureCrypto(fx, b.opt.ceilingFor); err != nil {
		return err
	}
	if wait := time.Until(time.Unix((warmStep+1)*int64(credential.TOTPPeriod/time.Second), 0).Add(-stepMargin)); wait > 0 {
		b.logf("waiting %s for the next TOTP step, so that every card has three unused codes", wait.Round(100*time.Millisecond))
		if err := sleepCtx(ctx, wait); err != nil {
			return err
		}
	}
	pool := &codePool{wallets: hot.wallets}
	b.logf("POST /api/v1/verify: %d connections for %s", b.opt.conns, b.opt.duration)
	verify := verifyLoad(a, fx, pool, b.opt.conns, b.opt.duration)
	verify.perfFile = b.opt.perf
	if rep.verify, err = b.runPhase(ctx, verify); err != nil {
		return err
	}
	rep.reshown = int(pool.reshown.Load())
	if err := b.measureCold(ctx, rep, a, fx); err != nil {
		return err
	}
	b.logf("POST /api/v1/redemptions: %d connections for %s (%d valid scans to redeem)", b.opt.conns, b.opt.redeemFor, len(valid.list))
	if rep.redeem, err = b.runPhase(ctx, redeemLoad(a, fx, valid, b.opt.conns, b.opt.redeemFor)); err != nil {
		return err
	}
	if rep.rssEndKB, err = a.rssKB(); err != nil {
		return err
	}
	return nil
}

// runPhase waits for a quiet machine, runs a load phase and adds how many
// write transactions PostgreSQL committed meanwhile. With ph.perfFile set,
// perf records the whole machine during the phase.
func (b *bench) runPhase(ctx context.Context, ph *loadPhase) (*loadResult, error) {
	b.awaitQuiet(ctx, ph.name)
	ph.database, ph.postmaster = b.dbName, b.postmaster
	before := b.pg.nextXID(ctx)
	var perf *exec.Cmd
	if ph.perfFile != "" {
		var err error
		if perf, err = startPerf(ph.perfFile, ph.duration); err != nil {
			return nil, err
		}
	}
	var goBefore goStats
	if ph.server != nil {
		var scrapeErr error
		if goBefore, scrapeErr = scrapeGoStats(ctx, ph.server.url); scrapeErr != nil {
			b.logf("%s: server allocations not measured: %v", ph.name, scrapeErr)
		}
	}
	res, err := ph.run(ctx)
	if err == nil && ph.server != nil {
		goAfter, scrapeErr := scrapeGoStats(ctx, ph.server.url)
		if scrapeErr != nil {
			b.logf("%s: server allocations not measured: %v", ph.name, scrapeErr)
		}
		res.goStats = goAfter.sub(goBefore)
	}
	if perf != nil {
		if err := perf.Wait(); err != nil {
			return nil, fmt.Errorf("perf record: %w", err)
		}
		b.logf("perf profile of %s written to %s (server binary %s)", ph.name, ph.perfFile, b.binary)
	}
	if err != nil {
		return nil, err
	}
	res.writeTxns = b.pg.nextXID(ctx) - before
	return res, nil
}

// awaitQuiet waits, up to -quiet-wait, until the machine has been nearly
// idle for half a second, so that other people's builds on a shared machine
// do not land in a measurement. Phases report the CPU others used anyway.
func (b *bench) awaitQuiet(ctx context.Context, what string) {
	deadline := time.Now().Add(b.opt.quietWait)
	for ctx.Err() == nil {
		before, t := machineBusy(), time.Now()
		if sleepCtx(ctx, 500*time.Millisecond) != nil {
			return
		}
		busy := (machineBusy() - before).Seconds() / time.Since(t).Seconds()
		if busy < 0.25 {
			return
		}
		if time.Now().After(deadline) {
			b.logf("machine still busy before %s (%.2f cores in use); measuring anyway", what, busy)
			return
		}
	}
}

// startServer launches an instance on PostgreSQL, waits until it is ready and
// makes sure it is stopped at the end.
func (b *bench) startServer(ctx context.Context, name string, env []string) (*server, error) {
	s, err := launch(b.binary, name, b.workDir, env)
	if err != nil {
		return nil, err
	}
	b.cleanup.add(s.stop)
	if _, err := s.waitReady(ctx, 20*time.Millisecond, time.Minute); err != nil {
		return nil, err
	}
	return s, nil
}

package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// pgCluster is a PostgreSQL server of the test's own, in a temporary
// directory, that the test may stop and start at will.
type pgCluster struct {
	t      *testing.T
	bin    string   // directory of initdb and pg_ctl
	dir    string   // everything of the cluster lives under it
	data   string   // PGDATA
	run    string   // socket and log, writable by the server
	port   int      // TCP port on 127.0.0.1
	asUser []string // command prefix to run as the postgres OS user
	opts   string   // extra server options (-c name=value …)
}

// skipOrFail skips locally and fails under CI=true.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// newPGCluster initialises a cluster; as root it runs the server as the
// postgres OS user, since PostgreSQL refuses to run as root.
func newPGCluster(t *testing.T) *pgCluster {
	t.Helper()
	c := &pgCluster{t: t}
	if matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(matches) > 0 {
		sort.Slice(matches, func(i, j int) bool { return pgVersion(matches[i]) > pgVersion(matches[j]) })
		c.bin = filepath.Dir(matches[0])
	} else if p, err := exec.LookPath("initdb"); err == nil {
		c.bin = filepath.Dir(p)
	} else {
		skipOrFail(t, "initdb not found (in /usr/lib/postgresql/*/bin or on PATH): the database-fault test needs a PostgreSQL server installation")
	}
	dir, err := os.MkdirTemp("", "alumnipass-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c.dir, c.data, c.run = dir, filepath.Join(dir, "data"), filepath.Join(dir, "run")
	t.Cleanup(func() {
		_ = c.pgctl("stop", "-m", "immediate")
		_ = os.RemoveAll(dir)
	})
	for _, d := range []string{c.data, c.run} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			skipOrFail(t, "running as root without a postgres OS user to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{c.data, c.run} {
			if err := os.Chown(d, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
		if p, err := exec.LookPath("runuser"); err == nil {
			c.asUser = []string{p, "-u", "postgres", "--"}
		} else {
			c.asUser = []string{"su", "postgres", "-s", "/bin/sh", "-c", `exec "$0" "$@"`}
		}
	}
	if out, err := c.command(filepath.Join(c.bin, "initdb"), "-D", c.data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	return c
}

func pgVersion(initdb string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return n
}

func (c *pgCluster) command(name string, args ...string) *exec.Cmd {
	if len(c.asUser) > 0 {
		args = append(append(append([]string{}, c.asUser[1:]...), name), args...)
		name = c.asUser[0]
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = c.dir
	return cmd
}

func (c *pgCluster) pgctl(args ...string) error {
	args = append([]string{"-D", c.data, "-w", "-t", "60"}, args...)
	out, err := c.command(filepath.Join(c.bin, "pg_ctl"), args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// start starts the server, on a free port the first time and on the same
// port afterwards (the service keeps its URL).
func (c *pgCluster) start() {
	c.t.Helper()
	first := c.port == 0
	for attempt := 0; ; attempt++ {
		if first {
			c.port = freePort(c.t) // another process may take a port between the probe and the start
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50 %s", c.port, c.run, c.opts)
		err := c.pgctl("-l", filepath.Join(c.run, "postgres.log"), "-o", opts, "start")
		if err == nil {
			return
		}
		if attempt >= 2 {
			log, _ := os.ReadFile(filepath.Join(c.run, "postgres.log"))
			c.t.Fatalf("%v\n%s", err, log)
		}
	}
}

func (c *pgCluster) stop(mode string) {
	c.t.Helper()
	if err := c.pgctl("stop", "-m", mode); err != nil {
		c.t.Fatal(err)
	}
}

func (c *pgCluster) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Phases of the outage, as seen by the load.
const (
	phaseUp int32 = iota
	phaseStopping
	phaseDown
	phaseRecovering
)

// verifyLoad scans one card from a few goroutines until stopped and sorts
// the answers by the phase in which each request both began and ended.
type verifyLoad struct {
	phase   atomic.Int32
	mu      sync.Mutex
	seen    map[int32]map[string]int
	bad     []string
	stop    chan struct{}
	wg      sync.WaitGroup
	client  *http.Client
	started atomic.Int64
}

func startVerifyLoad(ts *testServer, f *fixture, workers int) *verifyLoad {
	l := &verifyLoad{seen: map[int32]map[string]int{}, stop: make(chan struct{}), client: &http.Client{Transport: &http.Transport{}}}
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				begin := l.phase.Load()
				l.started.Add(1)
				a := post(l.client, ts.URL+"/api/v1/verify", f.DeviceKey, map[string]string{"code": f.cardCode(ts.t, time.Now())})
				end := l.phase.Load()
				outcome := fmt.Sprint(a.status)
				switch {
				case a.err != nil:
					outcome = "transport error"
				case a.status == 200:
					outcome = a.str("result")
				case a.code() != "":
					outcome += " " + a.code()
				}
				l.mu.Lock()
				if begin == end {
					if l.seen[begin] == nil {
						l.seen[begin] = map[string]int{}
					}
					l.seen[begin][outcome]++
				}
				if begin == phaseDown && end == phaseDown && outcome != "503 unavailable" || a.err != nil {
					l.bad = append(l.bad, fmt.Sprintf("%s (%v)", outcome, a.err))
				}
				l.mu.Unlock()
				if a.status == 503 {
					time.Sleep(5 * time.Millisecond) // a scanner retries, it does not spin
				}
			}
		}()
	}
	return l
}

func (l *verifyLoad) finish() {
	close(l.stop)
	l.wg.Wait()
	l.client.CloseIdleConnections()
}

// TestFaultDatabaseOutage stops PostgreSQL under a verification load: every
// scan is refused with 503 (never valid), /readyz says not ready, the
// process stays up; when PostgreSQL is back, scans are valid again without
// a restart, and no goroutines or connections are left behind.
func TestFaultDatabaseOutage(t *testing.T) {
	pg := newPGCluster(t)
	pg.start()
	const maxConns = 16
	st := openTestStore(t, pg.url(), maxConns)
	ts := startServerOn(t, st, "")
	f := ts.newFixture("gold")
	if r := ts.verify(f.DeviceKey, f.cardCode(t, time.Now())); r.Str("result") != "valid" {
		t.Fatalf("before the outage: %s", r.Body)
	}
	baseline := settledGoroutines(t, 0)

	load := startVerifyLoad(ts, f, 4)
	waitFor(t, func() bool { return load.started.Load() > 20 })
	load.phase.Store(phaseStopping)
	pg.stop("immediate")
	load.phase.Store(phaseDown)
	downAt := load.started.Load()
	waitFor(t, func() bool { return load.started.Load() > downAt+40 })
	if r := ts.do("GET", "/readyz", "", nil); r.Status != 503 || r.Code() != "not_ready" {
		t.Errorf("readyz with PostgreSQL down: %d %s", r.Status, r.Body)
	}
	if r := ts.do("GET", "/healthz", "", nil); r.Status != 200 {
		t.Errorf("healthz with PostgreSQL down: %d %s", r.Status, r.Body)
	}
	r := ts.do("POST", "/api/v1/verify", f.DeviceKey, map[string]string{"code": f.cardCode(t, time.Now())})
	if r.Status != 503 || r.Code() != "unavailable" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("verify with PostgreSQL down: %d %s", r.Status, r.Body)
	}

	load.phase.Store(phaseRecovering)
	pg.start()
	// Back by itself: a bounded number of retries, no restart.
	var last *response
	for i := 0; i < 200; i++ {
		last = ts.do("POST", "/api/v1/verify", f.DeviceKey, map[string]string{"code": f.cardCode(t, time.Now())})
		if last.Status == 200 && last.Str("result") == "valid" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last.Str("result") != "valid" {
		t.Fatalf("verify after PostgreSQL came back: %d %s", last.Status, last.Body)
	}
	waitFor(t, func() bool { return ts.do("GET", "/readyz", "", nil).Status == 200 })
	load.phase.Store(phaseUp)
	upAt := load.started.Load()
	waitFor(t, func() bool { return load.started.Load() > upAt+20 })
	load.finish()

	t.Logf("answers by phase (0 up, 1 stopping, 2 down, 3 recovering): %v", load.seen)
	if len(load.bad) > 0 {
		t.Errorf("%d wrong answers while PostgreSQL was down, e.g. %v", len(load.bad), load.bad[:min(5, len(load.bad))])
	}
	if load.seen[phaseDown]["503 unavailable"] == 0 {
		t.Errorf("the load saw no 503 while PostgreSQL was down: %v", load.seen)
	}
	for outcome, n := range load.seen[phaseUp] {
		if outcome != "valid" {
			t.Errorf("%d answers %q while PostgreSQL was up", n, outcome)
		}
	}

	// Nothing left behind: goroutines back to the baseline, connections
	// within the pool's bound and none stuck in use.
	settledGoroutines(t, baseline)
	var stats = st.DB().Stats()
	waitFor(t, func() bool { stats = st.DB().Stats(); return stats.InUse == 0 })
	if stats.OpenConnections > maxConns || stats.MaxOpenConnections != maxConns {
		t.Errorf("pool: %d open connections, limit %d", stats.OpenConnections, stats.MaxOpenConnections)
	}
	t.Logf("pool after the outage: %+v", stats)
}

// settledGoroutines waits until the goroutine count is at most baseline
// plus some slack (idle HTTP workers linger a few seconds) and returns it;
// with baseline 0 it just lets the process settle and returns the count.
func settledGoroutines(t *testing.T, baseline int) int {
	t.Helper()
	const slack = 10
	http.DefaultClient.CloseIdleConnections()
	burstClient.CloseIdleConnections()
	n := runtime.NumGoroutine()
	for i := 0; i < 300; i++ {
		time.Sleep(100 * time.Millisecond)
		n = runtime.NumGoroutine()
		if baseline == 0 && i >= 5 || baseline > 0 && n <= baseline+slack {
			return n
		}
	}
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	t.Errorf("%d goroutines, %d before the outage: a leak?\n%s", n, baseline, bytes.TrimSpace(buf))
	return n
}

// TestFaultConnectionsExhausted: when PostgreSQL has no connection slot
// left ("too many clients"), a scan that needs a new connection is refused
// with 503 unavailable, never a 500 or a decision, and succeeds again once
// slots are free.
func TestFaultConnectionsExhausted(t *testing.T) {
	pg := newPGCluster(t)
	pg.opts = "-c max_connections=12 -c superuser_reserved_connections=0"
	pg.start()
	ctx := context.Background()
	st := openTestStore(t, pg.url(), 8)
	ts := startServerOn(t, st, "")
	f := ts.newFixture("gold")
	v := ts.verify(f.DeviceKey, f.cardCode(t, time.Now()))
	if v.Str("result") != "valid" {
		t.Fatalf("setup: %s", v.Body)
	}
	vid := v.Str("verification_id")
	// The service keeps no idle connection, and another client takes
	// every slot the server has.
	st.DB().SetMaxIdleConns(0)
	hog, err := sql.Open("postgres", pg.url())
	if err != nil {
		t.Fatal(err)
	}
	defer hog.Close()
	var held []*sql.Conn
	for len(held) < 20 {
		c, err := hog.Conn(ctx)
		if err == nil {
			err = c.PingContext(ctx)
		}
		if err != nil {
			if !strings.Contains(err.Error(), "too many clients") {
				t.Fatalf("taking connection %d: %v", len(held)+1, err)
			}
			break
		}
		held = append(held, c)
	}
	if len(held) == 20 {
		t.Fatal("max_connections was not reached")
	}
	for name, r := range map[string]*response{
		"verify": ts.do("POST", "/api/v1/verify", f.DeviceKey, map[string]string{"code": f.cardCode(t, time.Now().Add(30*time.Second))}),
		"redeem": ts.do("POST", "/api/v1/redemptions", f.DeviceKey, map[string]any{"verification_id": vid, "perk_id": f.PerkID, "party_size": 1},
			"Idempotency-Key", "exhausted-0001"),
		"read a member": ts.do("GET", "/api/v1/members/"+f.MemberID, ts.HRToken, nil),
	} {
		if r.Status != 503 || r.Code() != "unavailable" {
			t.Errorf("%s with no connection slot left: %d %s, want 503 unavailable", name, r.Status, r.Body)
		}
	}
	if r := ts.do("GET", "/readyz", "", nil); r.Status != 503 {
		t.Errorf("readyz with no connection slot left: %d", r.Status)
	}
	for _, c := range held {
		_ = c.Close()
	}
	_ = hog.Close()
	waitFor(t, func() bool {
		r := ts.do("POST", "/api/v1/verify", f.DeviceKey, map[string]string{"code": f.cardCode(t, time.Now().Add(30*time.Second))})
		return r.Str("result") == "valid"
	})
	ts.must(ts.do("POST", "/api/v1/redemptions", f.DeviceKey, map[string]any{"verification_id": vid, "perk_id": f.PerkID, "party_size": 1},
		"Idempotency-Key", "exhausted-0001"), 201)
}

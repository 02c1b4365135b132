package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/store"
)

// child is the alumnipass binary running `serve` as a separate process.
type child struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string
	log    *bytes.Buffer
	exited chan struct{}
}

// childEnv is the environment of a child on a database place.
func childEnv(place dbPlace, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ALUMNIPASS_") && !strings.HasPrefix(kv, "DATABASE_URL=") {
			env = append(env, kv)
		}
	}
	for k, v := range place.env(strings.Repeat("5a", 32)) {
		env = append(env, k+"="+v)
	}
	return append(append(env, "ALUMNIPASS_LOG_LEVEL=warn", "ALUMNIPASS_LOG_FORMAT=text"), extra...)
}

// startChild runs `alumnipass serve` and waits until it is ready.
func startChild(t *testing.T, bin string, place dbPlace, extraEnv ...string) *child {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	c := &child{t: t, url: "http://" + addr, log: &bytes.Buffer{}, exited: make(chan struct{})}
	c.cmd = exec.Command(bin, "serve")
	c.cmd.Env = childEnv(place, append([]string{"ALUMNIPASS_ADDR=" + addr, "ALUMNIPASS_BASE_URL=http://" + addr}, extraEnv...)...)
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.cmd.Wait(); close(c.exited) }()
	t.Cleanup(c.kill)
	for i := 0; ; i++ {
		select {
		case <-c.exited:
			t.Fatalf("alumnipass serve exited before it was ready:\n%s", c.log)
		default:
		}
		if resp, err := http.Get(c.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return c
			}
		}
		if i > 600 {
			t.Fatalf("alumnipass serve not ready:\n%s", c.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill sends SIGKILL: no shutdown, no flush, no deferred function.
func (c *child) kill() {
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Kill()
	<-c.exited
}

// client is a testServer that only speaks HTTP to the child.
func (c *child) client(hrToken string) *testServer {
	return &testServer{t: c.t, URL: c.url, HRToken: hrToken}
}

// hrToken creates an HR token with the CLI on the database.
func hrToken(t *testing.T, bin string, place dbPlace) string {
	t.Helper()
	cmd := exec.Command(bin, "token", "create", "--role", "hr", "--name", "crash test")
	cmd.Env = childEnv(place)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("token create: %v %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

// TestCrashKill9 kills the process with SIGKILL in the middle of writes, on
// PostgreSQL and on SQLite: an import is all or nothing, a redemption is
// whole (its counts with it), every 201 the client saw is on record, and
// the service starts again on the same database and serves.
func TestCrashKill9(t *testing.T) {
	bin := buildBinary(t)
	for _, d := range []string{store.SQLite, store.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Run("import", func(t *testing.T) { crashDuringImport(t, bin, newPlace(t, d)) })
			t.Run("redemptions", func(t *testing.T) { crashDuringRedemptions(t, bin, newPlace(t, d)) })
		})
	}
}

func crashDuringImport(t *testing.T, bin string, place dbPlace) {
	tok := hrToken(t, bin, place)
	c := startChild(t, bin, place)
	const rows = 50000
	var csv bytes.Buffer
	csv.WriteString("employee_no,family_name,given_name,email,tier,departed_on\n")
	for i := range rows {
		fmt.Fprintf(&csv, "K%06d,山本,一郎,k%d@example.com,standard,2024-03-31\n", i, i)
	}
	st := place.open(t)
	defer st.Close()
	writing := importWriting(t, st, place)
	done := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("POST", c.url+"/api/v1/members/import", bytes.NewReader(csv.Bytes()))
		req.Header.Set("Content-Type", "text/csv")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- answer{err: err}
			return
		}
		resp.Body.Close()
		done <- answer{status: resp.StatusCode}
	}()
	var finished *answer
	for i := 0; finished == nil && !writing(); i++ {
		select {
		case a := <-done:
			finished = &a
		case <-time.After(5 * time.Millisecond):
		}
		if i > 20000 {
			t.Fatal("the import neither wrote nor finished")
		}
	}
	c.kill()
	if finished == nil {
		a := <-done
		finished = &a
	}
	var n int
	if err := st.DB().QueryRow("SELECT COUNT(*) FROM members WHERE employee_no LIKE 'K%'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed %s; the client saw %d %v; %d of %d members on record", map[bool]string{true: "after the import answered", false: "while the import was writing"}[finished.err == nil], finished.status, finished.err, n, rows)
	switch {
	case n != 0 && n != rows:
		t.Fatalf("%d of %d members imported: a half import survived the crash", n, rows)
	case finished.status == 200 && n != rows:
		t.Fatalf("the import answered 200 but %d members are on record", n)
	}
	var audits int
	if err := st.DB().QueryRow("SELECT COUNT(*) FROM audit_log WHERE action = 'member.import_create'").Scan(&audits); err != nil {
		t.Fatal(err)
	}
	if audits != n {
		t.Fatalf("%d members but %d audit entries of their import", n, audits)
	}

	// Restarted on the same database, it serves and the import completes.
	c2 := startChild(t, bin, place)
	ts := c2.client(tok)
	rep := ts.must(ts.do("POST", "/api/v1/members/import", tok, csv.Bytes()), 200)
	if got := rep.JSON["created"].(float64) + rep.JSON["unchanged"].(float64); got != rows {
		t.Fatalf("import after the restart: %.200s", rep.Body)
	}
	ts.newFixture("gold")
}

// importWriting returns a probe that is true once the import is writing:
// a PostgreSQL transaction that holds a write (an xid), or an SQLite WAL
// that has grown.
func importWriting(t *testing.T, st *store.Store, place dbPlace) func() bool {
	if st.Dialect() == store.Postgres {
		return func() bool {
			var n int
			err := st.DB().QueryRow(`SELECT COUNT(*) FROM pg_stat_activity
				WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL`).Scan(&n)
			if err != nil {
				t.Error(err)
				return true
			}
			return n > 0
		}
	}
	wal := filepath.Join(place.dir, "alumnipass.db-wal")
	size := func() int64 {
		fi, err := os.Stat(wal)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	before := size()
	return func() bool { return size() > before+512<<10 }
}

// redemptionCase is one redemption a counter will record.
type redemptionCase struct {
	vid, key string
	seen     atomic.Int32 // status the client saw
	id       atomic.Value // redemption id the client saw
}

func crashDuringRedemptions(t *testing.T, bin string, place dbPlace) {
	tok := hrToken(t, bin, place)
	c := startChild(t, bin, place)
	ts := c.client(tok)
	p := ts.must(ts.do("POST", "/api/v1/partners", tok, map[string]any{"name": "居酒屋", "kind": "restaurant"}), 201)
	pid := p.Str("id")
	key := ts.must(ts.do("POST", "/api/v1/partners/"+pid+"/keys", tok, map[string]any{"name": "register"}), 201).Str("key")
	perk := ts.must(ts.do("POST", "/api/v1/partners/"+pid+"/perks", tok, map[string]any{"title": "乾杯", "eligible_tiers": []string{"*"},
		"companions": 3, "limit_per_day": 1000, "limit_per_month": 10000}), 201).Str("id")

	// Valid scans: each member's card codes of the current steps and ten
	// single-use guest passes.
	var cases []*redemptionCase
	for i := range 8 {
		m := ts.must(ts.do("POST", "/api/v1/members", tok, map[string]any{"employee_no": fmt.Sprintf("R%03d", i), "family_name": "林",
			"given_name": "三郎", "email": fmt.Sprintf("r%d@example.com", i), "tier": "gold", "departed_on": "2024-03-31"}), 201)
		card := ts.must(ts.do("POST", "/api/v1/members/"+m.Str("id")+"/cards", tok, nil), 201)
		enr := ts.must(ts.do("POST", "/api/v1/wallet/enroll", "", map[string]any{"token": card.Str("enrollment_token"), "consent": true}), 201)
		f := &fixture{WalletToken: enr.Str("wallet_token"), SignedPart: enr.Str("signed_part"), Secret: enr.Str("totp_secret")}
		var codes []string
		for _, step := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
			codes = append(codes, f.cardCode(t, time.Now().Add(step)))
		}
		for range 10 {
			g := ts.must(ts.do("POST", "/api/v1/wallet/guest-passes", f.WalletToken, map[string]any{
				"party_size": 2, "valid_until": time.Now().Add(24 * time.Hour).Format(time.RFC3339)}), 201)
			codes = append(codes, g.Str("code"))
		}
		for _, code := range codes {
			v := ts.verify(key, code)
			if v.Str("result") == "valid" && v.JSON["repeat"] != true {
				cases = append(cases, &redemptionCase{vid: v.Str("verification_id"), key: uuid.NewString()})
			}
		}
	}
	if len(cases) < 80 {
		t.Fatalf("only %d valid scans to redeem", len(cases))
	}
	base := c.url
	redeem := func(rc *redemptionCase) answer {
		return post(burstClient, base+"/api/v1/redemptions", key, map[string]any{"verification_id": rc.vid, "perk_id": perk, "party_size": 2},
			"Idempotency-Key", rc.key)
	}

	// The burst, killed once a quarter of it has been answered 201.
	work := make(chan *redemptionCase)
	var created atomic.Int32
	var once sync.Once
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rc := range work {
				a := redeem(rc)
				if a.err != nil {
					continue
				}
				rc.seen.Store(int32(a.status))
				rc.id.Store(a.str("id"))
				if a.status == 201 && created.Add(1) == int32(len(cases)/4) {
					once.Do(c.kill)
				}
			}
		}()
	}
	for _, rc := range cases {
		work <- rc
	}
	close(work)
	wg.Wait()
	c.kill()

	st := place.open(t)
	ids := checkRedemptions(t, st)
	seen := 0
	for _, rc := range cases {
		if rc.seen.Load() == 201 {
			seen++
			if !ids[rc.id.Load().(string)] {
				t.Errorf("redemption %s was answered 201 but is not on record", rc.id.Load())
			}
		}
	}
	t.Logf("killed after %d of %d redemptions were answered 201; %d on record", seen, len(cases), len(ids))
	if len(ids) == len(cases) {
		t.Logf("every redemption was recorded before the kill; the crash hit no write in flight")
	}
	_ = st.Close()

	// Restarted, the counter retries everything with the same keys: the
	// recorded ones answer as before, the others are recorded now.
	base = startChild(t, bin, place).url
	for _, rc := range cases {
		a := redeem(rc)
		switch {
		case a.status == 201 && rc.seen.Load() != 201:
		case a.status == 200 && a.json["idempotent_replay"] == true:
			if rc.seen.Load() == 201 && a.str("id") != rc.id.Load().(string) {
				t.Errorf("retry of %s answered redemption %s, first answer was %s", rc.key, a.str("id"), rc.id.Load())
			}
		default:
			t.Errorf("retry after the restart: %d %s %v", a.status, a.body, a.err)
		}
	}
	st = place.open(t)
	defer st.Close()
	if ids := checkRedemptions(t, st); len(ids) != len(cases) {
		t.Errorf("%d redemptions on record after the retries, want %d", len(ids), len(cases))
	}
}

// checkRedemptions checks that every redemption is whole: a guest pass has
// as many uses as redemptions, and the perk's daily and monthly counts
// equal the redemptions of each member. It returns the redemption ids.
func checkRedemptions(t *testing.T, st *store.Store) map[string]bool {
	t.Helper()
	db := st.DB()
	ids := map[string]bool{}
	rows, err := db.Query("SELECT id FROM redemptions")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids[id] = true
	}
	rows.Close()
	for what, q := range map[string]string{
		"guest passes whose uses differ from their redemptions": `
			SELECT COUNT(*) FROM guest_passes g
			WHERE g.uses <> (SELECT COUNT(*) FROM redemptions r WHERE r.guest_pass_id = g.id)`,
		"daily counts that differ from the redemptions": `
			SELECT COUNT(*) FROM (SELECT perk_id, member_id, COUNT(*) AS n FROM redemptions GROUP BY perk_id, member_id) r
			WHERE r.n <> (SELECT COALESCE(SUM(u.uses), 0) FROM perk_usage u
			              WHERE u.perk_id = r.perk_id AND u.member_id = r.member_id AND u.period LIKE 'd:%')`,
		"monthly counts that differ from the redemptions": `
			SELECT COUNT(*) FROM (SELECT perk_id, member_id, COUNT(*) AS n FROM redemptions GROUP BY perk_id, member_id) r
			WHERE r.n <> (SELECT COALESCE(SUM(u.uses), 0) FROM perk_usage u
			              WHERE u.perk_id = r.perk_id AND u.member_id = r.member_id AND u.period LIKE 'm:%')`,
		"counts without a redemption": `
			SELECT COUNT(*) FROM perk_usage u WHERE NOT EXISTS (
				SELECT 1 FROM redemptions r WHERE r.perk_id = u.perk_id AND r.member_id = u.member_id)`,
		"redemptions without a valid verification": `
			SELECT COUNT(*) FROM redemptions r WHERE NOT EXISTS (
				SELECT 1 FROM verifications v WHERE v.id = r.verification_id AND v.result = 'valid')`,
	} {
		var n int
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n != 0 {
			t.Errorf("%d %s: a redemption was half written", n, what)
		}
	}
	return ids
}

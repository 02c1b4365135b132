package main

import (
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
)

// newPGStandby makes a streaming standby of primary with pg_basebackup, in
// its own temporary directory, that reports to the primary as standby1.
func newPGStandby(t *testing.T, primary *pgCluster) *pgCluster {
	t.Helper()
	c := &pgCluster{t: t, bin: primary.bin, asUser: primary.asUser}
	dir, err := os.MkdirTemp("", "alumnipass-pg-standby-")
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
	if len(c.asUser) > 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal(err)
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
	}
	conninfo := fmt.Sprintf("host=127.0.0.1 port=%d user=postgres application_name=standby1", primary.port)
	if out, err := c.command(filepath.Join(c.bin, "pg_basebackup"), "-d", conninfo, "-D", c.data,
		"-X", "stream", "-R", "--no-sync", "-c", "fast").CombinedOutput(); err != nil {
		t.Fatalf("pg_basebackup: %v\n%s", err, out)
	}
	c.opts = "-c primary_conninfo='" + conninfo + "'"
	return c
}

// TestFailoverSynchronousStandby runs verify + redeem against a server whose
// DATABASE_URL names a primary and its synchronous standby with
// target_session_attrs=read-write, stops the primary, promotes the standby,
// and holds: no `valid` while no primary was reachable, no 500, every
// answered scan and redemption on the new primary (synchronous commit: an
// acknowledged write is on the standby), and scans valid again within a
// few seconds of the promotion, without restarting the server. The change
// feed's listener reconnects to the new primary (lib/pq dials the hosts in
// order and keeps the one that takes writes).
func TestFailoverSynchronousStandby(t *testing.T) {
	primary := newPGCluster(t)
	primary.opts = "-c wal_level=replica -c max_wal_senders=5 -c wal_keep_size=64MB"
	primary.start()
	standby := newPGStandby(t, primary)
	standby.start()
	admin, err := sql.Open("postgres", primary.url())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for _, q := range []string{`ALTER SYSTEM SET synchronous_standby_names = 'standby1'`, `SELECT pg_reload_conf()`} {
		if _, err := admin.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool {
		var state string
		err := admin.QueryRow(`SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'`).Scan(&state)
		return err == nil && state == "sync"
	})
	admin.Close()

	both := fmt.Sprintf("postgres://postgres@/postgres?host=127.0.0.1,127.0.0.1&port=%d,%d&sslmode=disable&target_session_attrs=read-write&connect_timeout=2",
		primary.port, standby.port)
	st := openTestStore(t, both, 16)
	ts := startServerOn(t, st, "")
	f := ts.newFixture("gold")
	perk := ts.must(ts.do("POST", "/api/v1/partners/"+f.PartnerID+"/perks", ts.HRToken, map[string]any{
		"title": "no limits", "eligible_tiers": []string{"*"}, "companions": 3}), 201).Str("id")
	if r := ts.verify(f.DeviceKey, f.cardCode(t, time.Now())); r.Str("result") != "valid" {
		t.Fatalf("before the failover: %s", r.Body)
	}
	// Cards to scan: a repeated code answers the first scan's verification
	// (already redeemed), so every redemption needs a code shown for the
	// first time: the current and the next TOTP step of each card (both
	// stay acceptable for 30 s).
	cards := []*fixture{f}
	for i := range 20 { // the enrolment limit is 30 per address in 10 minutes

		m := ts.must(ts.do("POST", "/api/v1/members", ts.HRToken, map[string]any{"employee_no": fmt.Sprintf("FO%03d", i), "family_name": "山田",
			"given_name": "花子", "email": fmt.Sprintf("fo%d@example.com", i), "tier": "gold", "departed_on": "2024-03-31"}), 201)
		card := ts.must(ts.do("POST", "/api/v1/members/"+m.Str("id")+"/cards", ts.HRToken, nil), 201)
		enr := ts.must(ts.do("POST", "/api/v1/wallet/enroll", "", map[string]any{"token": card.Str("enrollment_token"), "consent": true}), 201)
		cards = append(cards, &fixture{SignedPart: enr.Str("signed_part"), Secret: enr.Str("totp_secret")})
	}
	var nextBefore, nextAfter atomic.Int64
	var phase atomic.Int32 // phaseUp, phaseStopping, phaseDown, phaseRecovering
	code := func() string {
		next, step := &nextBefore, time.Duration(0)
		if phase.Load() == phaseRecovering || nextAfter.Load() > 0 {
			next, step = &nextAfter, 30*time.Second // the next step's codes are kept for after the promotion
		}
		i := int(next.Add(1) - 1)
		if i >= len(cards) {
			step = 0 // every code used: a repeat
		}
		return cards[i%len(cards)].cardCode(t, time.Now().Add(step))
	}
	var (
		mu          sync.Mutex
		scans       []string // verification ids answered valid
		redemptions []string // redemption ids answered 201
		bad         []string
		seen        = map[int32]map[string]int{}
		stop        = make(chan struct{})
		wg          sync.WaitGroup
		started     atomic.Int64
	)
	client := &http.Client{Transport: &http.Transport{}, Timeout: 20 * time.Second}
	defer client.CloseIdleConnections()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				begin := phase.Load()
				started.Add(1)
				a := post(client, ts.URL+"/api/v1/verify", f.DeviceKey, map[string]string{"code": code()})
				outcome := fmt.Sprint(a.status, " ", a.code())
				repeat, _ := a.json["repeat"].(bool)
				if a.status == 200 {
					outcome = a.str("result")
				}
				if repeat {
					outcome += " (repeat)"
				}
				var red answer
				if a.status == 200 && a.str("result") == "valid" && !repeat {
					red = post(client, ts.URL+"/api/v1/redemptions", f.DeviceKey,
						map[string]any{"verification_id": a.str("verification_id"), "perk_id": perk, "party_size": 1},
						"Idempotency-Key", uuid.NewString())
					outcome += fmt.Sprint(" + redeem ", red.status, " ", red.code())
				}
				end := phase.Load()
				mu.Lock()
				if begin == end {
					if seen[begin] == nil {
						seen[begin] = map[string]int{}
					}
					seen[begin][outcome]++
				}
				if a.status == 200 && a.str("result") == "valid" {
					scans = append(scans, a.str("verification_id"))
					if begin == phaseDown && end == phaseDown {
						bad = append(bad, "valid while no primary was reachable: "+outcome)
					}
				}
				if red.status == 201 {
					redemptions = append(redemptions, red.str("id"))
				}
				if a.err != nil || red.err != nil || a.status >= 500 && a.status != 503 || red.status >= 500 && red.status != 503 {
					bad = append(bad, fmt.Sprintf("%s (%v %v) %s %s", outcome, a.err, red.err, a.body, red.body))
				}
				mu.Unlock()
				if a.status == 503 || red.status == 503 {
					time.Sleep(20 * time.Millisecond) // a scanner retries, it does not spin
				}
			}
		}()
	}
	waitFor(t, func() bool { return started.Load() > 40 })
	phase.Store(phaseStopping)
	primary.stop("immediate")
	phase.Store(phaseDown)
	downAt := started.Load()
	time.Sleep(2 * time.Second) // no primary: the standby refuses writes, lib/pq refuses it
	if started.Load() <= downAt {
		t.Errorf("no request was sent while no primary was reachable")
	}
	phase.Store(phaseRecovering)
	promoted := time.Now()
	if err := standby.pgctl("promote"); err != nil {
		t.Fatal(err)
	}
	var back time.Duration
	for {
		r := ts.do("POST", "/api/v1/verify", f.DeviceKey, map[string]string{"code": f.cardCode(t, time.Now())})
		if r.Status == 200 && r.Str("result") == "valid" {
			back = time.Since(promoted)
			break
		}
		if time.Since(promoted) > 30*time.Second {
			t.Fatalf("no valid answer 30 s after the promotion; last: %d %s", r.Status, r.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	phase.Store(phaseUp)
	upAt := started.Load()
	waitFor(t, func() bool { return started.Load() > upAt+20 })
	close(stop)
	wg.Wait()

	t.Logf("answers by phase (0 up, 2 no primary, 3 promoting): %v", seen)
	t.Logf("valid again %s after pg_ctl promote returned; %d valid scans and %d redemptions answered", back.Round(time.Millisecond), len(scans), len(redemptions))
	if back > 10*time.Second {
		t.Errorf("valid again only %s after the promotion (target: ≤ 10 s)", back)
	}
	if len(bad) > 0 {
		t.Errorf("%d wrong answers, e.g. %v", len(bad), bad[:min(5, len(bad))])
	}
	if len(redemptions) < 20 {
		t.Errorf("only %d redemptions answered; the test needs more to show none is lost", len(redemptions))
	}
	if seen[phaseDown]["503 unavailable"] == 0 {
		t.Errorf("no 503 while no primary was reachable: %v", seen[phaseDown])
	}
	for outcome, n := range seen[phaseUp] {
		if outcome != "valid + redeem 201 " && outcome != "valid (repeat)" {
			t.Errorf("%d answers %q after the failover", n, outcome)
		}
	}

	// Nothing acknowledged is lost: every answered scan and redemption is
	// on the new primary.
	newPrimary, err := sql.Open("postgres", standby.url())
	if err != nil {
		t.Fatal(err)
	}
	defer newPrimary.Close()
	count := func(table string, ids []string) int {
		t.Helper()
		n := 0
		for _, id := range ids {
			var one int
			err := newPrimary.QueryRow(`SELECT 1 FROM `+table+` WHERE id = $1`, id).Scan(&one)
			if err == nil {
				n++
			} else if err != sql.ErrNoRows {
				t.Fatal(err)
			}
		}
		return n
	}
	if n := count("verifications", scans); n != len(scans) {
		t.Errorf("%d of %d answered scans are missing on the new primary", len(scans)-n, len(scans))
	}
	if n := count("redemptions", redemptions); n != len(redemptions) {
		t.Errorf("%d of %d answered redemptions are missing on the new primary", len(redemptions)-n, len(redemptions))
	}
}

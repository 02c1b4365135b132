package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/store"
)

// burstClient keeps enough connections open for a real burst.
var burstClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 0}}

// answer is one response of a burst; err is a transport error.
type answer struct {
	status int
	json   map[string]any
	body   []byte
	err    error
}

func (a answer) str(k string) string { s, _ := a.json[k].(string); return s }

func (a answer) code() string {
	e, _ := a.json["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// post sends a JSON POST without touching a testing.T, so that it can run
// on any goroutine.
func post(client *http.Client, url, token string, body any, headers ...string) answer {
	b, err := json.Marshal(body)
	if err != nil {
		return answer{err: err}
	}
	req, err := http.NewRequest("POST", url, bytes.NewReader(b))
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, body: rb, err: err}
	_ = json.Unmarshal(rb, &a.json)
	return a
}

// burst runs n requests at once (released together) and returns the answers.
func burst(n int, req func(i int) answer) []answer {
	out := make([]answer, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = req(i)
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// tally counts answers by status and error code.
func tally(as []answer) map[string]int {
	m := map[string]int{}
	for _, a := range as {
		k := fmt.Sprint(a.status)
		if a.err != nil {
			k = "transport error"
		} else if c := a.code(); c != "" {
			k += " " + c
		}
		m[k]++
	}
	return m
}

// replays counts the answers to one request sent many times: how many
// created it (201), and the ids of every 201 and idempotent replay (200).
// Any other answer is reported with what.
func replays(t *testing.T, what string, as []answer) (created int, ids map[string]int) {
	t.Helper()
	ids = map[string]int{}
	for _, a := range as {
		switch {
		case a.status == 201:
			created++
		case a.status == 200 && a.json["idempotent_replay"] == true:
		default:
			t.Errorf("%s: %d %s %v", what, a.status, a.body, a.err)
			continue
		}
		ids[a.str("id")]++
	}
	return created, ids
}

// TestConcurrentRedemptions: a single-use guest pass redeemed by 50
// requests at once is redeemed exactly once; 50 retries of one request
// make one redemption and all carry its id; a perk allowed once a day is
// used once however many valid scans race for it. On both databases.
func TestConcurrentRedemptions(t *testing.T) {
	eachDialectSmallPool(t, func(t *testing.T, ts *testServer) {
		f := ts.newFixture("gold")
		guestScan := func(t *testing.T) (passID, vid string) {
			t.Helper()
			g := ts.must(ts.do("POST", "/api/v1/wallet/guest-passes", f.WalletToken, map[string]any{
				"party_size": 2, "valid_until": time.Now().Add(24 * time.Hour).Format(time.RFC3339)}), 201)
			v := ts.verify(f.DeviceKey, g.Str("code"))
			if v.Str("result") != "valid" {
				t.Fatalf("guest pass scan: %s", v.Body)
			}
			return g.Str("id"), v.Str("verification_id")
		}
		passState := func(t *testing.T, passID string) (uses, rows int) {
			t.Helper()
			db := ts.Store.DB()
			q := ts.Store.DB().QueryRow
			if err := q(rebind(ts, "SELECT uses FROM guest_passes WHERE id = ?"), passID).Scan(&uses); err != nil {
				t.Fatal(err)
			}
			if err := db.QueryRow(rebind(ts, "SELECT COUNT(*) FROM redemptions WHERE guest_pass_id = ?"), passID).Scan(&rows); err != nil {
				t.Fatal(err)
			}
			return uses, rows
		}

		t.Run("single-use guest pass, 50 different keys", func(t *testing.T) {
			passID, vid := guestScan(t)
			as := burst(50, func(int) answer {
				return post(burstClient, ts.URL+"/api/v1/redemptions", f.DeviceKey,
					map[string]any{"verification_id": vid, "perk_id": f.PerkID, "party_size": 2}, "Idempotency-Key", uuid.NewString())
			})
			won := 0
			for _, a := range as {
				switch {
				case a.status == 201:
					won++
				case a.status == 409 && (a.code() == "used_up" || a.code() == "already_redeemed"):
				default:
					t.Errorf("want 201 once and 409 used_up/already_redeemed otherwise, got %d %s %v", a.status, a.body, a.err)
				}
			}
			if won != 1 {
				t.Errorf("%d redemptions succeeded, want exactly 1: %v", won, tally(as))
			}
			if uses, rows := passState(t, passID); uses != 1 || rows != 1 {
				t.Errorf("guest pass uses %d, redemption rows %d; want 1 and 1", uses, rows)
			}
		})

		t.Run("single-use guest pass, one key 50 times", func(t *testing.T) {
			passID, vid := guestScan(t)
			key := uuid.NewString()
			as := burst(50, func(int) answer {
				return post(burstClient, ts.URL+"/api/v1/redemptions", f.DeviceKey,
					map[string]any{"verification_id": vid, "perk_id": f.PerkID, "party_size": 1}, "Idempotency-Key", key)
			})
			created, ids := replays(t, "a retry of one request", as)
			if created != 1 || len(ids) != 1 {
				t.Errorf("want one 201 and the same redemption id in every answer; got %d created, ids %v, answers %v", created, ids, tally(as))
			}
			if uses, rows := passState(t, passID); uses != 1 || rows != 1 {
				t.Errorf("guest pass uses %d, redemption rows %d; want 1 and 1", uses, rows)
			}
		})

		t.Run("perk once a day, 20 valid scans at once", func(t *testing.T) {
			pk := ts.must(ts.do("POST", "/api/v1/partners/"+f.PartnerID+"/perks", ts.HRToken, map[string]any{
				"title": "一日一回", "eligible_tiers": []string{"*"}, "companions": 0, "limit_per_day": 1}), 201)
			base := time.Now().UTC().Truncate(time.Second)
			if jst := base.In(time.FixedZone("JST", 9*3600)); jst.Hour() == 23 && jst.Minute() >= 40 {
				base = base.Add(30 * time.Minute) // keep all twenty scans on one Japanese day
			}
			defer ts.Clock.Set(time.Time{})
			vids := make([]string, 20)
			for i := range vids {
				at := base.Add(time.Duration(i) * 30 * time.Second)
				ts.Clock.Set(at)
				v := ts.verify(f.DeviceKey, f.cardCode(t, at))
				if v.Str("result") != "valid" || v.JSON["repeat"] == true {
					t.Fatalf("scan %d: %s", i, v.Body)
				}
				vids[i] = v.Str("verification_id")
			}
			as := burst(len(vids), func(i int) answer {
				return post(burstClient, ts.URL+"/api/v1/redemptions", f.DeviceKey,
					map[string]any{"verification_id": vids[i], "perk_id": pk.Str("id"), "party_size": 1}, "Idempotency-Key", uuid.NewString())
			})
			won := 0
			for _, a := range as {
				switch {
				case a.status == 201:
					won++
				case a.status == 409 && a.code() == "daily_limit_reached":
				default:
					t.Errorf("want 201 once and 409 daily_limit_reached otherwise, got %d %s %v", a.status, a.body, a.err)
				}
			}
			var rows, uses int
			db := ts.Store.DB()
			if err := db.QueryRow(rebind(ts, "SELECT COUNT(*) FROM redemptions WHERE perk_id = ?"), pk.Str("id")).Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if err := db.QueryRow(rebind(ts, "SELECT COALESCE(SUM(uses), 0) FROM perk_usage WHERE perk_id = ?"), pk.Str("id")).Scan(&uses); err != nil {
				t.Fatal(err)
			}
			if won != 1 || rows != 1 || uses != 1 {
				t.Errorf("%d succeeded, %d rows, %d uses counted; want 1, 1, 1: %v", won, rows, uses, tally(as))
			}
		})
	})
}

// rebind writes a ?-query in the server's database dialect.
func rebind(ts *testServer, q string) string {
	if ts.Store.Dialect() != "postgres" {
		return q
	}
	var b bytes.Buffer
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// eachDialectSmallPool is eachDialect with a pool of 16 connections: the
// bursts contend on rows all the same, and leave connections to the other
// test processes that share the local PostgreSQL.
func eachDialectSmallPool(t *testing.T, fn func(t *testing.T, ts *testServer)) {
	t.Helper()
	for _, d := range []string{store.SQLite, store.Postgres} {
		t.Run(d, func(t *testing.T) {
			st := newPlace(t, d).open(t)
			t.Cleanup(func() { _ = st.Close() })
			fn(t, startServerOn(t, st, ""))
		})
	}
}

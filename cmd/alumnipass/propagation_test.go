package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// propagationWorld is where a change is made and where it must be seen:
// the writer takes API and console changes, the observer answers scans
// (the same server, or a second instance on the same PostgreSQL), and the
// CLI runs as a separate process would, with its own store, on the same
// database (on SQLite: the same file as the running server).
type propagationWorld struct {
	writer, observer *testServer
	cliEnv           map[string]string
	// base and step are the observer's clock: every scan is one 30-s step
	// later than the last, so each code is new (never a repeat) and later
	// than any card the writer issued (same-instance worlds share the clock).
	base time.Time
	step int
}

// changeCase is one path a change can take, and what the next scan at the
// observer must show once the change has reached it.
type changeCase struct {
	name string
	// change makes the change to fixture f.
	change func(t *testing.T, w *propagationWorld, f *fixture)
	// reached reports whether a scan at the observer reflects it.
	reached func(t *testing.T, w *propagationWorld, f *fixture, scan func(key string) *response) bool
}

// TestChangeReachesEveryInstance is the matrix of issue 13: every change
// path × (same instance, second instance on PostgreSQL, CLI process beside
// a SQLite server) → the next verification reflects the change. Each case
// first scans once so the observer has the card and perks cached.
func TestChangeReachesEveryInstance(t *testing.T) {
	key := strings.Repeat("5a", 32)
	worlds := map[string]func(t *testing.T) *propagationWorld{
		"same-instance/sqlite": func(t *testing.T) *propagationWorld {
			dir := t.TempDir()
			st, err := store.Open(context.Background(), store.Options{SQLitePath: filepath.Join(dir, "alumnipass.db")})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			if _, err := st.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			s := startServerOn(t, st, key)
			return &propagationWorld{writer: s, observer: s, cliEnv: map[string]string{"ALUMNIPASS_DATA_DIR": dir, "DATABASE_URL": ""}}
		},
		"same-instance/postgres": func(t *testing.T) *propagationWorld {
			u := storetest.NewPostgresDB(t)
			s := startServerOn(t, openTestStore(t, u, 8), key)
			return &propagationWorld{writer: s, observer: s, cliEnv: map[string]string{"DATABASE_URL": u, "ALUMNIPASS_DATA_DIR": t.TempDir()}}
		},
		"second-instance/postgres": func(t *testing.T) *propagationWorld {
			u := storetest.NewPostgresDB(t)
			a := startServerOn(t, openTestStore(t, u, 8), key)
			b := startServerOn(t, openTestStore(t, u, 8), key)
			b.HRToken = a.HRToken
			return &propagationWorld{writer: a, observer: b, cliEnv: map[string]string{"DATABASE_URL": u, "ALUMNIPASS_DATA_DIR": t.TempDir()}}
		},
	}
	for _, name := range []string{"same-instance/sqlite", "same-instance/postgres", "second-instance/postgres"} {
		t.Run(name, func(t *testing.T) {
			w := worlds[name](t)
			w.cliEnv["ALUMNIPASS_MASTER_KEY"] = key
			w.base = time.Now().UTC().Truncate(time.Second)
			for _, c := range changeCases() {
				t.Run(c.name, func(t *testing.T) { runChangeCase(t, w, c) })
			}
		})
	}
}

// runChangeCase caches the fixture at the observer, makes the change and
// scans fresh codes (one 30-s step later each) until the change shows, up
// to a generous bound: behaviour, not speed (make bench measures that).
func runChangeCase(t *testing.T, w *propagationWorld, c changeCase) {
	f := w.writer.newFixture("gold")
	scan := func(key string) *response {
		w.step++
		at := w.base.Add(time.Duration(w.step) * 30 * time.Second)
		w.observer.Clock.Set(at)
		return w.observer.do("POST", "/api/v1/verify", key, map[string]string{"code": f.cardCode(t, at)})
	}
	if r := scan(f.DeviceKey); r.Str("result") != "valid" {
		t.Fatalf("before the change: %s", r.Body)
	}
	c.change(t, w, f)
	start := time.Now()
	for i := 0; ; i++ {
		if c.reached(t, w, f, scan) {
			t.Logf("reached the observer after %v", time.Since(start).Round(time.Millisecond))
			return
		}
		if i >= 60 {
			t.Fatalf("the change did not reach the observer in %v", time.Since(start).Round(time.Millisecond))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func resultIs(want string) func(*testing.T, *propagationWorld, *fixture, func(string) *response) bool {
	return func(t *testing.T, _ *propagationWorld, f *fixture, scan func(string) *response) bool {
		r := scan(f.DeviceKey)
		if r.Status != 200 {
			t.Fatalf("scan: %d %s", r.Status, r.Body)
		}
		return r.Str("result") == want
	}
}

// memberCSV is the fixture's member as an import row with one field changed.
func memberCSV(t *testing.T, w *propagationWorld, f *fixture, tier, family string) []byte {
	m := w.writer.must(w.writer.do("GET", "/api/v1/members/"+f.MemberID, w.writer.HRToken, nil), 200)
	return []byte(fmt.Sprintf("employee_no,family_name,given_name,email,tier,departed_on\n%s,%s,太郎,%s,%s,2024-03-31\n",
		m.Str("employee_no"), family, m.Str("email"), tier))
}

func tierIs(tier string) func(*testing.T, *propagationWorld, *fixture, func(string) *response) bool {
	return func(t *testing.T, _ *propagationWorld, f *fixture, scan func(string) *response) bool {
		r := scan(f.DeviceKey)
		return r.Str("result") == "valid" && r.Str("tier") == tier
	}
}

func changeCases() []changeCase {
	return []changeCase{
		{"api/revoke", func(t *testing.T, w *propagationWorld, f *fixture) {
			w.writer.must(w.writer.do("POST", "/api/v1/members/"+f.MemberID+"/revoke", w.writer.HRToken, map[string]string{"reason": "left the programme"}), 200)
		}, resultIs("revoked")},
		{"api/suspend", func(t *testing.T, w *propagationWorld, f *fixture) {
			w.writer.must(w.writer.do("POST", "/api/v1/members/"+f.MemberID+"/suspend", w.writer.HRToken, map[string]string{"reason": "review"}), 200)
		}, resultIs("suspended")},
		{"api/card-reissue", func(t *testing.T, w *propagationWorld, f *fixture) {
			w.writer.must(w.writer.do("POST", "/api/v1/members/"+f.MemberID+"/cards", w.writer.HRToken, nil), 201)
		}, resultIs("revoked")},
		{"api/import-tier", func(t *testing.T, w *propagationWorld, f *fixture) {
			w.writer.must(w.writer.do("POST", "/api/v1/members/import", w.writer.HRToken, memberCSV(t, w, f, "silver", "山田")), 200)
		}, tierIs("silver")},
		{"api/perk-created", func(t *testing.T, w *propagationWorld, f *fixture) {
			w.writer.must(w.writer.do("POST", "/api/v1/partners/"+f.PartnerID+"/perks", w.writer.HRToken, map[string]any{
				"title": "乾杯ドリンク", "eligible_tiers": []string{"gold"}, "companions": 1, "limit_per_day": 1}), 201)
		}, func(t *testing.T, _ *propagationWorld, f *fixture, scan func(string) *response) bool {
			r := scan(f.DeviceKey)
			return r.Str("result") == "valid" && strings.Contains(string(r.Body), "乾杯ドリンク")
		}},
		{"api/device-key-revoked", func(t *testing.T, w *propagationWorld, f *fixture) {
			keys := w.writer.must(w.writer.do("GET", "/api/v1/partners/"+f.PartnerID+"/keys", w.writer.HRToken, nil), 200)
			id := keys.JSON["keys"].([]any)[0].(map[string]any)["id"].(string)
			w.writer.must(w.writer.do("POST", "/api/v1/partners/"+f.PartnerID+"/keys/"+id+"/revoke", w.writer.HRToken, nil), 200)
		}, func(t *testing.T, _ *propagationWorld, f *fixture, scan func(string) *response) bool {
			return scan(f.DeviceKey).Status == 401
		}},
		{"console/revoke", func(t *testing.T, w *propagationWorld, f *fixture) {
			cc := w.writer.consoleAs(model.RoleHR, "")
			cc.want(cc.post("/admin/members/"+f.MemberID+"/revoke", url.Values{"reason": {"console"}}), 303)
		}, resultIs("revoked")},
		{"console/import-name", func(t *testing.T, w *propagationWorld, f *fixture) {
			cc := w.writer.consoleAs(model.RoleHR, "")
			p := cc.want(cc.upload("/admin/import", "file", "m.csv", memberCSV(t, w, f, "gold", "佐藤"), url.Values{"encoding": {"auto"}}), 200)
			hash := regexpFind(t, p.Body, `name="hash" value="([0-9a-f]{64})"`)
			cc.want(cc.post("/admin/import/apply", url.Values{"hash": {hash}, "encoding": {"auto"}}), 200)
		}, func(t *testing.T, _ *propagationWorld, f *fixture, scan func(string) *response) bool {
			r := scan(f.DeviceKey)
			return r.Str("result") == "valid" && strings.HasPrefix(r.Str("display_name"), "佐藤")
		}},
		{"console/edit-tier", func(t *testing.T, w *propagationWorld, f *fixture) {
			cc := w.writer.consoleAs(model.RoleHR, "")
			form := cc.want(cc.get("/admin/members/"+f.MemberID+"/edit"), 200)
			email := regexpFind(t, form.Body, `id="email" name="email"[^>]*value="([^"]+)"`)
			cc.want(cc.post("/admin/members/"+f.MemberID+"/edit", url.Values{"family_name": {"山田"}, "given_name": {"太郎"},
				"email": {email}, "tier": {"diamond"}, "departed_on": {"2024-03-31"}, "locale": {"ja"}}), 303)
		}, tierIs("diamond")},
		{"api/edit-tier", func(t *testing.T, w *propagationWorld, f *fixture) {
			w.writer.must(w.writer.do("PATCH", "/api/v1/members/"+f.MemberID, w.writer.HRToken, map[string]string{"tier": "bronze"}), 200)
		}, tierIs("bronze")},
		{"api/perk-edit", func(t *testing.T, w *propagationWorld, f *fixture) {
			w.writer.must(w.writer.do("PATCH", "/api/v1/partners/"+f.PartnerID+"/perks/"+f.PerkID, w.writer.HRToken, map[string]any{"title": "改定 ランチ特典"}), 200)
		}, func(t *testing.T, _ *propagationWorld, f *fixture, scan func(string) *response) bool {
			r := scan(f.DeviceKey)
			return r.Str("result") == "valid" && strings.Contains(string(r.Body), "改定 ランチ特典")
		}},
		{"api/perk-off", func(t *testing.T, w *propagationWorld, f *fixture) {
			w.writer.must(w.writer.do("PATCH", "/api/v1/partners/"+f.PartnerID+"/perks/"+f.PerkID, w.writer.HRToken, map[string]any{"active": false}), 200)
		}, func(t *testing.T, _ *propagationWorld, f *fixture, scan func(string) *response) bool {
			r := scan(f.DeviceKey)
			// With its only perk off, the card is valid but has nothing here: not_eligible.
			return r.Str("result") == "not_eligible" && !strings.Contains(string(r.Body), f.PerkID)
		}},
		{"api/venue-closed", func(t *testing.T, w *propagationWorld, f *fixture) {
			w.writer.must(w.writer.do("PATCH", "/api/v1/partners/"+f.PartnerID+"/venues/"+f.VenueID, w.writer.HRToken, map[string]any{"closed": true}), 200)
		}, func(t *testing.T, _ *propagationWorld, f *fixture, scan func(string) *response) bool {
			return scan(f.DeviceKey).Status == 401
		}},
		{"api/partner-deactivated", func(t *testing.T, w *propagationWorld, f *fixture) {
			w.writer.must(w.writer.do("PATCH", "/api/v1/partners/"+f.PartnerID, w.writer.HRToken, map[string]any{"active": false}), 200)
		}, func(t *testing.T, _ *propagationWorld, f *fixture, scan func(string) *response) bool {
			return scan(f.DeviceKey).Status == 401
		}},
		{"cli/import-tier", func(t *testing.T, w *propagationWorld, f *fixture) {
			file := filepath.Join(t.TempDir(), "m.csv")
			if err := os.WriteFile(file, memberCSV(t, w, f, "platinum", "山田"), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := runCLI(t, w.cliEnv, "import", file); err != nil {
				t.Fatalf("import: %v %s", err, out)
			}
		}, tierIs("platinum")},
		{"cli/token-create", func(t *testing.T, w *propagationWorld, f *fixture) {
			out, err := runCLI(t, w.cliEnv, "token", "create", "--role", "hr", "--name", "matrix "+f.MemberID[:8])
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			f.PerkID = lines[len(lines)-1] // the new token, carried to reached
		}, func(t *testing.T, w *propagationWorld, f *fixture, _ func(string) *response) bool {
			return w.observer.do("GET", "/api/v1/members?limit=1", f.PerkID, nil).Status == 200
		}},
		// Last: after it, cards signed by the first key answer unknown_key.
		{"cli/keys-rotate-retire", func(t *testing.T, w *propagationWorld, f *fixture) {
			list, err := runCLI(t, w.cliEnv, "keys", "list")
			if err != nil {
				t.Fatal(err)
			}
			old := strings.Fields(list)[0]
			if out, err := runCLI(t, w.cliEnv, "keys", "rotate"); err != nil {
				t.Fatalf("rotate: %v %s", err, out)
			}
			if out, err := runCLI(t, w.cliEnv, "keys", "retire", old); err != nil {
				t.Fatalf("retire: %v %s", err, out)
			}
		}, func(t *testing.T, w *propagationWorld, f *fixture, scan func(string) *response) bool {
			keys := w.observer.must(w.observer.do("GET", "/.well-known/alumnipass/keys.json", "", nil), 200).JSON["keys"].([]any)
			return len(keys) == 1 && scan(f.DeviceKey).Str("result") == "unknown_key"
		}},
	}
}

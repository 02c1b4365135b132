package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// runCLI runs a subcommand with the environment set for one test.
func runCLI(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	return out.String(), err
}

func TestCLITokenAndKeys(t *testing.T) {
	env := map[string]string{
		"DATABASE_URL":          storetest.NewPostgresDB(t),
		"ALUMNIPASS_DATA_DIR":   filepath.Join(t.TempDir(), "data"),
		"ALUMNIPASS_MASTER_KEY": strings.Repeat("cd", 32),
	}
	out, err := runCLI(t, env, "token", "create", "--role", "hr", "--name", "HR system")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	tok := lines[len(lines)-1]
	if !strings.HasPrefix(tok, auth.PrefixHR) {
		t.Fatalf("last line is not the token: %q", out)
	}
	if _, err := runCLI(t, env, "token", "create", "--role", "god", "--name", "x"); err == nil {
		t.Fatal("unknown role accepted")
	}
	st, err := runCLI(t, env, "migrate", "status")
	if err != nil || !strings.Contains(st, "applied") || strings.Contains(st, "pending") {
		t.Fatalf("migrate status: %q %v", st, err)
	}

	// A server on the same database: the CLI's key changes reach it.
	db := openTestStore(t, env["DATABASE_URL"], 8)
	ts := startServerOn(t, db, env["ALUMNIPASS_MASTER_KEY"])
	f := ts.newFixture("gold")
	now := time.Now()
	list, err := runCLI(t, env, "keys", "list")
	var cardKeys []string // keys list also shows the OpenID token keys, "oidc-…"
	for _, l := range strings.Split(strings.TrimSpace(list), "\n") {
		if !strings.HasPrefix(l, "oidc-") {
			cardKeys = append(cardKeys, l)
		}
	}
	if err != nil || len(cardKeys) != 1 || !strings.Contains(cardKeys[0], "active") {
		t.Fatalf("one active card key expected: %q %v", list, err)
	}
	oldKid := strings.Fields(cardKeys[0])[0]
	if _, err := runCLI(t, env, "keys", "retire", oldKid); err == nil {
		t.Fatal("the active key was retired")
	}
	if out, err := runCLI(t, env, "keys", "rotate"); err != nil || !strings.Contains(out, "active") {
		t.Fatalf("rotate: %q %v", out, err)
	}
	// Cards signed by the old key keep verifying until it is retired.
	waitFor(t, func() bool {
		return len(ts.must(ts.do("GET", "/.well-known/alumnipass/keys.json", "", nil), 200).JSON["keys"].([]any)) == 2
	})
	ts.Clock.Set(now)
	if r := ts.verify(f.DeviceKey, f.cardCode(t, now)); r.Str("result") != "valid" {
		t.Fatalf("old-key card after rotation: %s", r.Body)
	}
	if out, err := runCLI(t, env, "keys", "retire", oldKid); err != nil || !strings.Contains(out, "retired") {
		t.Fatalf("retire: %q %v", out, err)
	}
	waitFor(t, func() bool {
		return len(ts.must(ts.do("GET", "/.well-known/alumnipass/keys.json", "", nil), 200).JSON["keys"].([]any)) == 1
	})
	ts.Clock.Set(now.Add(30 * time.Second))
	if r := ts.verify(f.DeviceKey, f.cardCode(t, now.Add(30*time.Second))); r.Str("result") != "unknown_key" {
		t.Fatalf("old-key card after retirement: %s", r.Body)
	}
	// A card issued now is signed by the new key and verifies.
	g := ts.newFixture("gold")
	if r := ts.verify(g.DeviceKey, g.cardCode(t, now.Add(30*time.Second))); r.Str("result") != "valid" {
		t.Fatalf("new-key card: %s", r.Body)
	}
	jwk := ts.must(ts.do("GET", "/.well-known/alumnipass/keys.json", "", nil), 200).JSON["keys"].([]any)[0].(map[string]any)
	if jwk["kty"] != "OKP" || jwk["crv"] != "Ed25519" || jwk["use"] != "sig" || jwk["kid"] == oldKid || len(jwk["x"].(string)) != 43 {
		t.Fatalf("JWK: %v", jwk)
	}
}

// waitFor polls a condition a bounded number of times (for notices that
// travel through PostgreSQL); it asserts behaviour, not speed.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("condition not reached")
}

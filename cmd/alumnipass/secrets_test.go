package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/pquerna/otp/totp"

	"github.com/alumnipass/alumnipass/internal/config"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// dbPlace is where a database lives: a PostgreSQL URL, or an SQLite data
// directory (DATABASE_URL unset, the file alumnipass.db in it).
type dbPlace struct{ url, dir string }

func (p dbPlace) env(masterKey string) map[string]string {
	dir := p.dir
	if dir == "" {
		dir = os.TempDir()
	}
	return map[string]string{"DATABASE_URL": p.url, "ALUMNIPASS_DATA_DIR": dir, "ALUMNIPASS_MASTER_KEY": masterKey}
}

// open opens and migrates the database; the caller closes it.
func (p dbPlace) open(t testing.TB) *store.Store {
	t.Helper()
	ctx := context.Background()
	o := store.Options{DatabaseURL: p.url, MaxConns: 16}
	if p.url == "" {
		o.SQLitePath = filepath.Join(p.dir, "alumnipass.db")
	}
	st, err := store.Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		_ = st.Close()
		t.Fatal(err)
	}
	return st
}

// newPlace makes a fresh empty database of a dialect.
func newPlace(t *testing.T, dialect string) dbPlace {
	if dialect == store.Postgres {
		return dbPlace{url: storetest.NewPostgresDB(t)}
	}
	return dbPlace{dir: t.TempDir()}
}

// copyPlace copies a closed database: a PostgreSQL template copy, or the
// SQLite files.
func copyPlace(t *testing.T, p dbPlace) dbPlace {
	t.Helper()
	if p.url == "" {
		dir := t.TempDir()
		for _, suffix := range []string{"", "-wal", "-shm"} {
			b, err := os.ReadFile(filepath.Join(p.dir, "alumnipass.db"+suffix))
			if os.IsNotExist(err) && suffix != "" {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "alumnipass.db"+suffix), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return dbPlace{dir: dir}
	}
	u, err := url.Parse(p.url)
	if err != nil {
		t.Fatal(err)
	}
	orig := strings.TrimPrefix(u.Path, "/")
	admin := os.Getenv("TEST_DATABASE_URL")
	if admin == "" {
		admin = storetest.DefaultAdminURL
	}
	db, err := sqlx.Open("postgres", admin)
	if err != nil {
		t.Fatal(err)
	}
	name := orig + "_copy"
	if _, err := db.Exec("CREATE DATABASE " + name + " TEMPLATE " + orig); err != nil {
		t.Fatalf("copy database: %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		_ = db.Close()
	})
	u.Path = "/" + name
	return dbPlace{url: u.String()}
}

// shutdown stops a test server before the end of its test; the cleanup
// registered by startServerOn then finds it stopped.
func (ts *testServer) shutdown() {
	ts.t.Helper()
	ts.cancel()
	select {
	case err := <-ts.done:
		ts.done <- err
	case <-time.After(10 * time.Second):
		ts.t.Fatal("server did not stop")
	}
	ts.App.close()
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// secretForms are the ways a secret could sit in a column.
type secretForms struct {
	text [][]byte // compared case-insensitively
	raw  [][]byte // compared exactly
}

func (s *secretForms) addText(v string) {
	if len(v) >= 12 {
		s.text = append(s.text, []byte(v))
	}
}

func (s *secretForms) addBytes(b []byte) {
	if len(b) < 12 {
		return
	}
	s.raw = append(s.raw, b)
	s.addText(hex.EncodeToString(b))
	s.addText(base64.StdEncoding.EncodeToString(b))
	s.addText(base64.RawURLEncoding.EncodeToString(b))
	s.addText(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// token adds a bearer token, its random part and the bytes behind it.
func (s *secretForms) token(tok string) {
	s.addText(tok)
	if _, rnd, ok := strings.Cut(tok, "_"); ok {
		s.addText(rnd)
		if b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(rnd)); err == nil {
			s.addBytes(b)
		}
	}
}

// base32Secret adds a TOTP secret given in base32 and its raw bytes.
func (s *secretForms) base32Secret(b32 string) {
	s.addText(b32)
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(b32))
	if err != nil {
		panic(err)
	}
	s.addBytes(b)
}

// scanForSecrets reads every row of every table and fails if any value
// holds one of the secrets in any of its forms. It returns the row count
// per table.
func scanForSecrets(t *testing.T, st *store.Store, secrets map[string]*secretForms) map[string]int {
	t.Helper()
	db := st.DB()
	q := "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
	if st.Dialect() == store.Postgres {
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
	}
	var tables []string
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	counts := map[string]int{}
	for _, table := range tables {
		counts[table] = scanTable(t, db, table, secrets)
	}
	return counts
}

func scanTable(t *testing.T, db *sql.DB, table string, secrets map[string]*secretForms) int {
	rows, err := db.Query("SELECT * FROM " + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		n++
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			var b []byte
			switch x := v.(type) {
			case nil:
				continue
			case []byte:
				b = x
			case string:
				b = []byte(x)
			default:
				b = []byte(fmt.Sprint(x))
			}
			lower := bytes.ToLower(b)
			for name, forms := range secrets {
				for _, r := range forms.raw {
					if bytes.Contains(b, r) {
						t.Errorf("%s.%s holds the %s (raw bytes)", table, cols[i], name)
					}
				}
				for _, s := range forms.text {
					if bytes.Contains(lower, bytes.ToLower(s)) {
						t.Errorf("%s.%s holds the %s (as %q…)", table, cols[i], name, s[:8])
					}
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSecretsAtRest: no token, TOTP secret, signing key or session cookie
// is stored in a readable form; then `keys rewrap` moves every secret to a
// new master key on a copy, which keeps working with the new key and
// refuses to start with the old one.
func TestSecretsAtRest(t *testing.T) {
	for _, d := range []string{store.SQLite, store.Postgres} {
		t.Run(d, func(t *testing.T) { secretsAtRest(t, d) })
	}
}

func secretsAtRest(t *testing.T, dialect string) {
	ctx := context.Background()
	place := newPlace(t, dialect)
	st := place.open(t)
	oldKey := randomHex(t, 32)
	ts := startServerOn(t, st, oldKey)
	secrets := map[string]*secretForms{}
	add := func(name string) *secretForms {
		s := &secretForms{}
		secrets[name] = s
		return s
	}
	_, _, priv := ts.App.svc.Keys.Signer()
	add("first signing key seed").addBytes(priv.Seed())
	f := ts.newFixture("gold") // signed by the first key
	if _, err := ts.App.svc.Keys.Rotate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	_, _, priv2 := ts.App.svc.Keys.Signer()
	add("second signing key seed").addBytes(priv2.Seed())
	add("wallet token").token(f.WalletToken)
	add("card TOTP secret").base32Secret(f.Secret)
	add("device key").token(f.DeviceKey)
	add("HR token").token(ts.HRToken)
	mk, _ := hex.DecodeString(oldKey)
	add("master key").addBytes(mk)

	// A card issued under the second key and not enrolled yet.
	m := ts.must(ts.do("POST", "/api/v1/members", ts.HRToken, map[string]any{"employee_no": "SEC2", "family_name": "秘密", "given_name": "二郎",
		"email": "sec2@example.com", "tier": "gold", "departed_on": "2024-03-31"}), 201)
	pending := ts.must(ts.do("POST", "/api/v1/members/"+m.Str("id")+"/cards", ts.HRToken, nil), 201)
	add("enrolment token").token(pending.Str("enrollment_token"))

	// An admin with a confirmed TOTP and a signed-in session.
	const email, password = "security@example.com", "correct horse battery staple"
	con := ts.App.svc.Console
	if _, err := con.CreateAdmin(ctx, email, "Security Admin", password, model.RoleAdmin, "", "ja"); err != nil {
		t.Fatal(err)
	}
	// bcrypt (cost 12) is slow under -race: sign in once per server. The
	// first sign-in sets the second factor up; a code is good once, so the
	// second one uses the next step's code.
	var adminSecret string
	signInWithTOTP := func(ts *testServer, at time.Time) (cookie string, err error) {
		cookie, _, err = ts.App.svc.Console.SignIn(ctx, email, password, "192.0.2.1")
		if err != nil {
			return "", err
		}
		sess, err := ts.App.svc.Console.Session(ctx, cookie)
		if err != nil {
			return "", err
		}
		if adminSecret == "" {
			if _, adminSecret, err = ts.App.svc.Console.StartTOTPEnrolment(ctx, sess); err != nil {
				return "", err
			}
		}
		code, err := totp.GenerateCode(adminSecret, at)
		if err != nil {
			return "", err
		}
		return ts.App.svc.Console.CheckTOTP(ctx, sess, code)
	}
	cookie, err := signInWithTOTP(ts, time.Now())
	if err != nil {
		t.Fatalf("admin TOTP before the rewrap: %v", err)
	}
	add("admin TOTP secret").base32Secret(adminSecret)
	add("session cookie").token(cookie)

	counts := scanForSecrets(t, st, secrets)
	for table, least := range map[string]int{"cards": 2, "signing_keys": 2, "admins": 1, "api_keys": 2, "sessions": 1, "audit_log": 1} {
		if counts[table] < least {
			t.Errorf("table %s has %d rows; the scan needs at least %d to mean something", table, counts[table], least)
		}
	}

	// Rotate the master key on a copy.
	ts.shutdown()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	cp := copyPlace(t, place)
	newKey := randomHex(t, 32)
	env := cp.env(newKey)
	env["ALUMNIPASS_MASTER_KEY_OLD"] = oldKey
	out, err := runCLI(t, env, "keys", "rewrap")
	if err != nil || !strings.Contains(out, "re-encrypted 2 signing key(s) and 2 card secret(s)") || !strings.Contains(out, "re-encrypted 1 OpenID token signing key(s)") {
		t.Fatalf("rewrap: %q %v", out, err)
	}
	st2 := cp.open(t)
	t.Cleanup(func() { _ = st2.Close() })

	// With the old key the service refuses to start.
	oldEnv := cp.env(oldKey)
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := oldEnv[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if app, err := newApplication(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), st2, time.Now); err == nil {
		app.close()
		t.Fatal("the service started with the old master key after the rewrap")
	} else if !strings.Contains(err.Error(), "MASTER_KEY") {
		t.Errorf("the refusal does not point at the master key: %v", err)
	}

	// With the new key it verifies the existing cards and signs new codes.
	ts2 := startServerOn(t, st2, newKey)
	if r := ts2.verify(f.DeviceKey, f.cardCode(t, time.Now())); r.Str("result") != "valid" {
		t.Fatalf("existing card after the rewrap: %s", r.Body)
	}
	enr := ts2.must(ts2.do("POST", "/api/v1/wallet/enroll", "", map[string]any{"token": pending.Str("enrollment_token"), "consent": true}), 201)
	code := ts2.must(ts2.do("GET", "/api/v1/wallet/code", enr.Str("wallet_token"), nil), 200)
	if r := ts2.verify(f.DeviceKey, code.Str("code")); r.Str("result") != "valid" {
		t.Fatalf("card enrolled after the rewrap: %s", r.Body)
	}
	g := ts2.must(ts2.do("POST", "/api/v1/wallet/guest-passes", f.WalletToken, map[string]any{
		"party_size": 1, "valid_until": time.Now().Add(24 * time.Hour).Format(time.RFC3339)}), 201)
	if r := ts2.verify(f.DeviceKey, g.Str("code")); r.Str("result") != "valid" {
		t.Fatalf("guest pass signed after the rewrap: %s", r.Body)
	}
	if _, err := signInWithTOTP(ts2, time.Now().Add(30*time.Second)); err != nil {
		t.Errorf("admin sign-in with TOTP after the rewrap: %v", err)
	}
	add("wallet token enrolled after the rewrap").token(enr.Str("wallet_token"))
	mk2, _ := hex.DecodeString(newKey)
	add("new master key").addBytes(mk2)
	scanForSecrets(t, st2, secrets)
}

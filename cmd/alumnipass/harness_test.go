package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/config"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// clock is a settable test clock, shared by the server and the test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now.IsZero() {
		return time.Now()
	}
	return c.now
}

// Set pins the clock; a zero time follows the real clock again.
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// Advance moves a pinned clock.
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	if c.now.IsZero() {
		c.now = time.Now()
	}
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// testServer is a whole alumnipass on a real port and database.
type testServer struct {
	t       testing.TB
	URL     string
	App     *application
	Store   *store.Store
	Clock   *clock
	HRToken string
	cancel  context.CancelFunc
	done    chan error
}

// eachDialect runs fn against a fresh server on SQLite and on PostgreSQL.
func eachDialect(t *testing.T, fn func(t *testing.T, ts *testServer)) {
	t.Helper()
	for _, d := range []string{store.SQLite, store.Postgres} {
		t.Run(d, func(t *testing.T) { fn(t, startServer(t, d)) })
	}
}

// startServer starts a server on a migrated fresh database of the dialect.
func startServer(t testing.TB, dialect string) *testServer {
	t.Helper()
	st := storetest.Open(t, dialect)
	return startServerOn(t, st, "")
}

// startServerOn starts a server on an existing store (two instances on one
// PostgreSQL share a database this way: pass the same URL to storetest).
func startServerOn(t testing.TB, st *store.Store, masterKeyHex string) *testServer {
	t.Helper()
	return startServerEnv(t, st, masterKeyHex, nil)
}

// startServerEnv starts a server with more settings in its environment.
func startServerEnv(t testing.TB, st *store.Store, masterKeyHex string, extra map[string]string) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	env := map[string]string{
		"ALUMNIPASS_ADDR":       addr,
		"ALUMNIPASS_BASE_URL":   "http://" + addr,
		"ALUMNIPASS_DATA_DIR":   filepath.Join(t.TempDir(), "data"),
		"ALUMNIPASS_MASTER_KEY": masterKeyHex,
	}
	if env["ALUMNIPASS_MASTER_KEY"] == "" {
		env["ALUMNIPASS_MASTER_KEY"] = strings.Repeat("ab", 32)
	}
	for k, v := range extra {
		env[k] = v
	}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := st.Listen(ctx, log); err != nil {
		t.Fatal(err)
	}
	clk := &clock{}
	app, err := newApplication(ctx, cfg, log, st, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{t: t, URL: "http://" + addr, App: app, Store: st, Clock: clk, cancel: cancel, done: make(chan error, 1)}
	go func() { ts.done <- app.server.Listen(ctx, addr, 5*time.Second) }()
	t.Cleanup(ts.stop)
	for i := 0; ; i++ {
		resp, err := http.Get(ts.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if i > 200 {
			t.Fatalf("server did not start: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	ts.HRToken, err = app.svc.Auth.CreateHRToken(ctx, "test hr", model.RoleHR)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func (ts *testServer) stop() {
	ts.cancel()
	select {
	case <-ts.done:
	case <-time.After(10 * time.Second):
		ts.t.Errorf("server did not stop")
	}
	ts.App.close()
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// response is a decoded HTTP answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

// Code is the error code of an error answer.
func (r *response) Code() string {
	if e, ok := r.JSON["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

// Str reads a string field of a JSON answer.
func (r *response) Str(key string) string {
	s, _ := r.JSON[key].(string)
	return s
}

// do sends a request with an optional bearer token and a body: JSON for a
// value, as is for a string, text/csv for bytes. A transport error fails
// the test.
func (ts *testServer) do(method, path, token string, body any, headers ...string) *response {
	ts.t.Helper()
	var b []byte
	ct := "application/json"
	switch v := body.(type) {
	case nil:
		ct = ""
	case string:
		b = []byte(v)
	case []byte:
		b, ct = v, "text/csv"
	default:
		j, err := json.Marshal(v)
		if err != nil {
			ts.t.Fatal(err)
		}
		b = j
	}
	r := ts.raw(method, path, token, ct, b, headers...)
	if r.Status == 0 {
		ts.t.Fatalf("%s %s: %s", method, path, r.Body)
	}
	return r
}

// raw sends a request exactly as given: no Content-Type unless ctype is
// set, the body as bytes, extra headers as name/value pairs. A transport
// error comes back as status 0, for the caller's test to report.
func (ts *testServer) raw(method, path, token, ctype string, body []byte, headers ...string) *response {
	ts.t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, bytes.NewReader(body))
	if err != nil {
		ts.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		// Status 0 fails every check of the caller, in the caller's test.
		return &response{Body: []byte("transport error: " + err.Error())}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	_ = json.Unmarshal(b, &r.JSON)
	return r
}

// openTestStore opens and migrates a store on a PostgreSQL URL, closed at the
// end of the test (several instances share a database this way).
func openTestStore(t testing.TB, url string, maxConns int) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{DatabaseURL: url, MaxConns: maxConns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// must checks the status of an answer.
func (ts *testServer) must(r *response, status int) *response {
	ts.t.Helper()
	if r.Status != status {
		ts.t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	return r
}

// fixture is a member with an enrolled wallet and a venue key.
type fixture struct {
	MemberID    string
	CardID      string
	WalletToken string
	SignedPart  string
	Secret      string
	PartnerID   string
	VenueID     string
	DeviceKey   string
	PerkID      string
}

var fixtureSeq struct {
	mu sync.Mutex
	n  int
}

// newFixture creates a member (tier gold), issues and enrols a card, and a
// restaurant partner with a perk for every tier and a device key.
func (ts *testServer) newFixture(tier string) *fixture {
	ts.t.Helper()
	fixtureSeq.mu.Lock()
	fixtureSeq.n++
	n := fixtureSeq.n
	fixtureSeq.mu.Unlock()
	f := &fixture{}
	m := ts.must(ts.do("POST", "/api/v1/members", ts.HRToken, map[string]any{
		"employee_no": fmt.Sprintf("T%05d", n), "family_name": "山田", "given_name": "太郎", "email": fmt.Sprintf("t%d@example.com", n),
		"tier": tier, "departed_on": "2024-03-31"}), 201)
	f.MemberID = m.Str("id")
	card := ts.must(ts.do("POST", "/api/v1/members/"+f.MemberID+"/cards", ts.HRToken, nil), 201)
	f.CardID = card.Str("card_id")
	enr := ts.must(ts.do("POST", "/api/v1/wallet/enroll", "", map[string]any{"token": card.Str("enrollment_token"), "consent": true}), 201)
	f.WalletToken, f.SignedPart, f.Secret = enr.Str("wallet_token"), enr.Str("signed_part"), enr.Str("totp_secret")
	p := ts.must(ts.do("POST", "/api/v1/partners", ts.HRToken, map[string]any{"name": fmt.Sprintf("店 %d", n), "kind": "restaurant"}), 201)
	f.PartnerID = p.Str("id")
	f.VenueID = p.JSON["venues"].([]any)[0].(map[string]any)["id"].(string)
	k := ts.must(ts.do("POST", "/api/v1/partners/"+f.PartnerID+"/keys", ts.HRToken, map[string]any{"name": "tablet"}), 201)
	f.DeviceKey = k.Str("key")
	pk := ts.must(ts.do("POST", "/api/v1/partners/"+f.PartnerID+"/perks", ts.HRToken, map[string]any{
		"title": "10% off", "eligible_tiers": []string{"*"}, "companions": 3, "limit_per_day": 5}), 201)
	f.PerkID = pk.Str("id")
	return f
}

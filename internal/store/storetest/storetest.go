// Package storetest gives tests a migrated store on each database: an
// SQLite file in a temporary folder and a fresh PostgreSQL database on the
// local server (or TEST_DATABASE_URL). Without PostgreSQL the PostgreSQL
// half skips with a clear message, unless CI=true, where it fails.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // PostgreSQL driver

	"github.com/alumnipass/alumnipass/internal/store"
)

// DefaultAdminURL is the local PostgreSQL this machine and CI run.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Each runs fn once per dialect as a subtest, each with a fresh database.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, d := range []string{store.SQLite, store.Postgres} {
		t.Run(d, func(t *testing.T) {
			fn(t, Open(t, d))
		})
	}
}

// Open returns a migrated store of one dialect, closed at the end of the test.
func Open(t testing.TB, dialect string) *store.Store {
	t.Helper()
	ctx := context.Background()
	opts := store.Options{MaxConns: 32}
	if dialect == store.Postgres {
		opts.DatabaseURL = NewPostgresDB(t)
	} else {
		opts.SQLitePath = filepath.Join(t.TempDir(), "test.db")
	}
	s, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatalf("open %s: %v", dialect, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s: %v", dialect, err)
	}
	return s
}

// NewPostgresDB creates an empty database for this test and returns its
// URL; it is dropped at the end of the test.
func NewPostgresDB(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("TEST_DATABASE_URL")
	if admin == "" {
		admin = DefaultAdminURL
	}
	db, err := sqlx.Open("postgres", admin)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required in CI but not reachable at %s: %v", redact(admin), err)
		}
		t.Skipf("PostgreSQL not reachable at %s (%v): skipping the PostgreSQL half; start it or set TEST_DATABASE_URL", redact(admin), err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "alumnipass_test_" + hex.EncodeToString(b)
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		_ = db.Close()
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", redact(admin), err)
	}
	u.Path = "/" + name
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// Must fails the test on error; a small aid for setup steps.
func Must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(fmt.Errorf("setup: %w", err))
	}
}

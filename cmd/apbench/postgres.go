package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	_ "github.com/lib/pq" // the PostgreSQL driver, for CREATE and DROP DATABASE only
)

// postgres is the administrative connection that creates and drops the
// bench databases; the servers never use it.
type postgres struct {
	admin *url.URL
	db    *sql.DB
}

func openPostgres(ctx context.Context, adminURL string) (*postgres, error) {
	u, err := url.Parse(adminURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("database URL %q is not a postgres:// URL", adminURL)
	}
	db, err := sql.Open("postgres", adminURL)
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("PostgreSQL at %s: %w (start it, or set BENCH_DATABASE_URL)", u.Redacted(), err)
	}
	return &postgres{admin: u, db: db}, nil
}

func (p *postgres) close() error { return p.db.Close() }

// version is the server's version string, for the report.
func (p *postgres) version(ctx context.Context) string {
	var v string
	if err := p.db.QueryRowContext(ctx, "SHOW server_version").Scan(&v); err != nil {
		return "unknown"
	}
	return v
}

// createDatabase makes an empty database with a random name and returns its
// URL (the admin URL with the path replaced).
func (p *postgres) createDatabase(ctx context.Context, prefix string) (name, dbURL string, err error) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name = prefix + "_" + hex.EncodeToString(b)
	if _, err := p.db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", "", fmt.Errorf("create database %s: %w", name, err)
	}
	u := *p.admin
	u.Path = "/" + name
	q := u.Query()
	if q.Get("sslmode") == "" {
		q.Set("sslmode", "disable")
		u.RawQuery = q.Encode()
	}
	return name, u.String(), nil
}

// dropDatabase drops a bench database, disconnecting anyone still on it.
func (p *postgres) dropDatabase(ctx context.Context, name string) error {
	if !strings.HasPrefix(name, "apbench_") {
		return fmt.Errorf("refusing to drop %q: not a bench database", name)
	}
	if _, err := p.db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// nextXID is the transaction id PostgreSQL will assign next. Only writing
// transactions take an id, so the difference over a phase counts the
// committed write transactions (of the whole PostgreSQL server), without
// the delay of the statistics views.
func (p *postgres) nextXID(ctx context.Context) int64 {
	var x int64
	_ = p.db.QueryRowContext(ctx, "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint").Scan(&x)
	return x
}

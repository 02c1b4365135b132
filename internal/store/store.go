// Package store is the only package that speaks SQL. One sqlx implementation
// serves PostgreSQL (production) and an embedded SQLite (the default with no
// DATABASE_URL); queries are written once with ? placeholders and rebound,
// and the few real differences live in a small dialect shim.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/alumnipass/alumnipass/internal/model"
)

func init() {
	// sqlx does not know modernc's driver name; tell it once which
	// placeholder style it takes. This registers a constant, not state.
	sqlx.BindDriver("sqlite", sqlx.QUESTION)
}

// Dialect names.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

// Store is the repository for every table of alumnipass.
type Store struct {
	Conn
	db      *sqlx.DB
	dialect *dialect
	dsn     string
	events  *Events
	prepMu  sync.Mutex
	logStmt *sql.Stmt             // LogScans on PostgreSQL, prepared on first use
	stmts   map[string]*sqlx.Stmt // other hot statements, prepared on first use (prepared.go)
	// binaryParams: lib/pq sends []byte parameters in binary format.
	binaryParams bool
}

// Options tune Open.
type Options struct {
	DatabaseURL string // postgres://… or empty for SQLite in DataDir
	DataDir     string
	SQLitePath  string // overrides DataDir/alumnipass.db (tests)
	MaxConns    int
}

// Open connects to the database. It does not migrate and does not fail when
// PostgreSQL is down: readiness reports that, and queries fail until it returns.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.MaxConns <= 0 {
		o.MaxConns = 16
	}
	if o.DatabaseURL != "" {
		dsn := withBinaryParameters(o.DatabaseURL)
		db, err := sqlx.Open("postgres", dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		cfg, cfgErr := pq.NewConfig(dsn)
		db.SetMaxOpenConns(o.MaxConns)
		db.SetMaxIdleConns(o.MaxConns)
		db.SetConnMaxIdleTime(5 * time.Minute)
		s := &Store{db: db, dialect: newPostgresDialect(), dsn: o.DatabaseURL, binaryParams: cfgErr == nil && cfg.BinaryParameters}
		s.Conn = Conn{s: s, x: db}
		s.events = newEvents(s)
		return s, nil
	}
	path, dataDir := o.SQLitePath, ""
	if path == "" {
		path, dataDir = filepath.Join(o.DataDir, "alumnipass.db"), o.DataDir
	}
	if err := prepareSQLiteFiles(dataDir, path); err != nil {
		return nil, err
	}
	dsn := "file:" + path + "?_txlock=immediate" +
		"&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
		"&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)"
	db, err := sqlx.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	// One connection: SQLite has one writer, and a single connection makes
	// every transaction serial instead of a busy error.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	s := &Store{db: db, dialect: newSQLiteDialect(), dsn: dsn}
	s.Conn = Conn{s: s, x: db}
	s.events = newEvents(s)
	return s, nil
}

// Dialect is "postgres" or "sqlite".
func (s *Store) Dialect() string { return s.dialect.name }

// DB exposes the pool for metrics (sql.DBStats).
func (s *Store) DB() *sql.DB { return s.db.DB }

// Events is the change feed (LISTEN/NOTIFY or in-process).
func (s *Store) Events() *Events { return s.events }

// Close stops listening and closes the pool.
func (s *Store) Close() error {
	s.events.close()
	s.prepMu.Lock()
	logStmt := s.logStmt
	s.logStmt = nil
	s.prepMu.Unlock()
	if logStmt != nil {
		_ = logStmt.Close()
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// Ping checks the database answers, for /readyz.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var one int
	if err := s.db.GetContext(ctx, &one, "SELECT 1"); err != nil {
		return fmt.Errorf("ping: %w", mapErr(err))
	}
	return nil
}

// q rebinds a query written with ? to the dialect's placeholders.
func (c *Conn) q(query string) string { return c.s.dialect.rebind(query) }

// ts converts a time for a query argument. PostgreSQL takes time.Time;
// SQLite stores text, so we write one fixed-width UTC layout that sorts
// and compares correctly as a string.
func (c *Conn) ts(t time.Time) any { return c.s.dialect.timeArg(t) }

const sqliteTime = "2006-01-02 15:04:05.000000"

// queryer is what both *sqlx.DB and *sqlx.Tx offer.
type queryer interface {
	sqlx.ExtContext
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
}

// Conn runs the repository's queries on the pool or inside a transaction;
// every query method is defined on it once and is usable on both.
type Conn struct {
	s  *Store
	x  queryer
	tx *Tx // nil outside a transaction
}

// Tx is a transaction handed to a function by InTx.
type Tx struct {
	Conn
	tx      *sqlx.Tx
	pending []Event
}

// InTx runs fn in a transaction, committing when it returns nil. On SQLite
// the transaction is IMMEDIATE, so it holds the write lock from the start.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", mapErr(err))
	}
	t := &Tx{tx: tx}
	t.Conn = Conn{s: s, x: tx, tx: t}
	if err := fn(t); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	for _, ev := range t.pending {
		s.events.dispatch(ev)
	}
	return nil
}

// mapErr turns driver errors into model sentinels, in one place.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return model.ErrNotFound
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch pqErr.Code {
		case "23505":
			return fmt.Errorf("%w: %s", model.ErrConflict, pqErr.Constraint)
		case "23503", "23514", "22001", "22P02", "22021": // 22021: text PostgreSQL cannot store (NUL)
			return fmt.Errorf("%w: %s", model.ErrInvalid, pqErr.Message)
		}
		// 08 connection, 53 insufficient resources (too many clients), 57 shutting down.
		if code := string(pqErr.Code); strings.HasPrefix(code, "08") || strings.HasPrefix(code, "53") || strings.HasPrefix(code, "57") {
			return fmt.Errorf("%w: %v", model.ErrUnavailable, err)
		}
		return err
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", model.ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY, sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL:
			return fmt.Errorf("%w: %v", model.ErrInvalid, err)
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%w: %v", model.ErrUnavailable, err)
		}
		return err
	}
	if isConnErr(err) {
		return fmt.Errorf("%w: %v", model.ErrUnavailable, err)
	}
	return err
}

// isConnErr recognises a database that does not answer.
func isConnErr(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"connection refused", "bad connection", "broken pipe", "connection reset", "no such host", "EOF", "timeout", "the database system is"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// withBinaryParameters asks lib/pq to send parameterised statements in one
// round trip (Parse, Bind and Execute together) instead of waiting for the
// Parse; it is the largest cost of small statements on the scan path. An
// explicit setting in the URL is kept.
func withBinaryParameters(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Query().Has("binary_parameters") {
		return dsn
	}
	q := u.Query()
	q.Set("binary_parameters", "yes")
	u.RawQuery = q.Encode()
	return u.String()
}

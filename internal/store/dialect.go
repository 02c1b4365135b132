package store

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"
)

// dialect is everything that differs between PostgreSQL and SQLite, in one
// value chosen at Open; queries ask it instead of comparing names. Add to
// it only when the second engine forces a difference.
type dialect struct {
	name  string        // Postgres or SQLite; also the migrations folder
	goose goose.Dialect // for the migration runner
	// notify: changes travel by LISTEN/NOTIFY (PostgreSQL); otherwise the
	// server watches PRAGMA data_version for other processes' commits.
	notify bool
	// lockMigrations: take an advisory lock so that instances starting
	// together migrate one at a time (SQLite's single writer needs none).
	lockMigrations bool
	// scanLogCTE: the scan log is one prepared statement per batch over
	// unnest()ed arrays; otherwise one transaction of two statements.
	scanLogCTE bool
	// textTimes: times are stored as fixed-width UTC text (SQLite has no
	// time type), so that they compare and sort as strings.
	textTimes bool
	// jstMonth is the SQL of the Japan-time month (YYYY-MM) of a time column.
	jstMonth func(col string) string
	// schema lists (table, column) pairs, for the migration parity test.
	schema string
	// skipLocked ends a SELECT that claims rows for a worker: FOR UPDATE
	// SKIP LOCKED on PostgreSQL, so two workers never claim one row;
	// nothing on SQLite, whose single writer serialises the claims.
	skipLocked string
	// forUpdate ends a SELECT that locks the rows it reads until the
	// transaction ends (PostgreSQL); SQLite's transaction holds the
	// database already.
	forUpdate string

	bindType int      // sqlx placeholder style
	rebound  sync.Map // constant query → rebound text
	nRebound atomic.Int64
}

// maxRebound bounds the rebind cache: constant queries are a few hundred;
// multi-row statements built per call are rebound each time past it.
const maxRebound = 2048

func newPostgresDialect() *dialect {
	return &dialect{name: Postgres, goose: goose.DialectPostgres, notify: true, lockMigrations: true, scanLogCTE: true,
		jstMonth: func(col string) string { return "to_char(" + col + " AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM')" },
		schema: `SELECT table_name AS t, column_name AS c FROM information_schema.columns
			WHERE table_schema = 'public' AND table_name <> 'goose_db_version'`,
		skipLocked: " FOR UPDATE SKIP LOCKED", forUpdate: " FOR UPDATE", bindType: sqlx.DOLLAR}
}

func newSQLiteDialect() *dialect {
	return &dialect{name: SQLite, goose: goose.DialectSQLite3, textTimes: true,
		jstMonth: func(col string) string { return "substr(datetime(" + col + ", '+9 hours'), 1, 7)" },
		schema: `SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> 'goose_db_version'`,
		bindType: sqlx.QUESTION}
}

// rebind turns a query written with ? into the dialect's placeholders,
// once per constant query.
func (d *dialect) rebind(query string) string {
	if d.bindType == sqlx.QUESTION {
		return query
	}
	if q, ok := d.rebound.Load(query); ok {
		return q.(string)
	}
	q := sqlx.Rebind(d.bindType, query)
	if d.nRebound.Load() < maxRebound {
		if _, loaded := d.rebound.LoadOrStore(query, q); !loaded {
			d.nRebound.Add(1)
		}
	}
	return q
}

// timeArg is how a time is passed to a query.
func (d *dialect) timeArg(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if d.textTimes {
		return t.Format(sqliteTime)
	}
	return t
}

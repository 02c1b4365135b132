package store

import (
	"fmt"
	"testing"
	"time"
)

func TestDialectRebind(t *testing.T) {
	pg, lite := newPostgresDialect(), newSQLiteDialect()
	const q = `SELECT a FROM t WHERE b = ? AND c = ?`
	if got := pg.rebind(q); got != `SELECT a FROM t WHERE b = $1 AND c = $2` {
		t.Fatalf("postgres: %q", got)
	}
	if got := pg.rebind(q); got != `SELECT a FROM t WHERE b = $1 AND c = $2` || pg.nRebound.Load() != 1 {
		t.Fatalf("second rebind: %q, %d cached", got, pg.nRebound.Load())
	}
	if got := lite.rebind(q); got != q {
		t.Fatalf("sqlite: %q", got)
	}
	// Statements built per call (multi-row inserts) do not grow the cache past its bound.
	for i := 0; i < maxRebound+100; i++ {
		want := fmt.Sprintf("SELECT %d, $1", i)
		if got := pg.rebind(fmt.Sprintf("SELECT %d, ?", i)); got != want {
			t.Fatalf("%q, want %q", got, want)
		}
	}
	if n := pg.nRebound.Load(); n > maxRebound {
		t.Fatalf("rebind cache holds %d queries, bound %d", n, maxRebound)
	}
}

func TestDialectTimes(t *testing.T) {
	at := time.Date(2026, 11, 28, 1, 2, 3, 456789123, time.FixedZone("JST", 9*3600))
	if got := newSQLiteDialect().timeArg(at); got != "2026-11-27 16:02:03.456789" {
		t.Fatalf("sqlite time: %v", got)
	}
	if got := newPostgresDialect().timeArg(at).(time.Time); !got.Equal(at.Truncate(time.Microsecond)) || got.Location() != time.UTC {
		t.Fatalf("postgres time: %v", got)
	}
}

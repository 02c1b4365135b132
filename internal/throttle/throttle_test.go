package throttle_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
	"github.com/alumnipass/alumnipass/internal/throttle"
)

// twoStores opens two stores on one database, as two instances (on SQLite:
// two processes on one file) would; the first listens to the change feed.
func twoStores(t *testing.T, dialect string) (listener, other *store.Store) {
	t.Helper()
	ctx := context.Background()
	var opts store.Options
	if dialect == store.Postgres {
		opts.DatabaseURL = storetest.NewPostgresDB(t)
	} else {
		opts.SQLitePath = filepath.Join(t.TempDir(), "alumnipass.db")
	}
	var ss []*store.Store
	for range 2 {
		s, err := store.Open(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		ss = append(ss, s)
	}
	lctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	if err := ss[0].Listen(lctx, discard()); err != nil {
		t.Fatal(err)
	}
	return ss[0], ss[1]
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// eventually polls cond for up to 3 s (the target is 1 s; behaviour, not
// speed, is asserted).
func eventually(cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for time.Since(start) < 3*time.Second {
		if cond() {
			return time.Since(start), true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start), false
}

// TestBlocksReachEveryInstance: a key blocked through one instance is
// refused from memory by another (PostgreSQL: the throttle notice; SQLite:
// the commit of another process, which makes the feed reset and the blocks
// be read again), and by an instance started afterwards; blocks end when
// their time is up; the sweep deletes the ended rows.
func TestBlocksReachEveryInstance(t *testing.T) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			st, other := twoStores(t, dialect)
			now := time.Now().UTC().Truncate(time.Millisecond)
			clock := func() time.Time { return now }
			svc, err := throttle.New(ctx, st, clock, discard())
			if err != nil {
				t.Fatal(err)
			}
			if _, blocked := svc.Blocked("vcard", "c1"); blocked {
				t.Fatal("blocked before any failure")
			}
			for i := range 3 {
				if _, err := other.CountRateFailure(ctx, "vcard:c1", 3, time.Minute, now); err != nil {
					t.Fatalf("failure %d: %v", i, err)
				}
			}
			took, ok := eventually(func() bool { _, b := svc.Blocked("vcard", "c1"); return b })
			if !ok {
				t.Fatalf("the block made by the other instance was not seen in %v", took)
			}
			t.Logf("block seen by the other instance after %v", took.Round(time.Millisecond))
			if wait, _ := svc.Blocked("vcard", "c1"); wait != time.Minute {
				t.Errorf("wait %v, want the rest of the window (1m)", wait)
			}
			if _, b := svc.Blocked("vcard", "c2"); b {
				t.Error("another card is blocked")
			}

			late, err := throttle.New(ctx, other, clock, discard())
			if err != nil {
				t.Fatal(err)
			}
			if _, b := late.Blocked("vcard", "c1"); !b {
				t.Error("an instance started after the block does not refuse the card")
			}

			// A failure counted here blocks here at once.
			for range 3 {
				if err := svc.Fail(ctx, "vkey:k1", 3, time.Minute); err != nil {
					t.Fatal(err)
				}
			}
			if _, b := svc.Blocked("vkey", "k1"); !b {
				t.Error("the instance that counted the failures does not refuse the key")
			}

			now = now.Add(time.Minute)
			if _, b := svc.Blocked("vcard", "c1"); b {
				t.Error("still blocked after the window")
			}
			if err := svc.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			if bs, err := st.ActiveRateBlocks(ctx, now.Add(-time.Hour)); err != nil || len(bs) != 0 {
				t.Errorf("rows left after the sweep: %v %v", bs, err)
			}
		})
	}
}

// TestTakeAcrossInstances: two services on one database share a budget.
func TestTakeAcrossInstances(t *testing.T) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			a, b := twoStores(t, dialect)
			now := time.Now().UTC()
			clock := func() time.Time { return now }
			sa, err := throttle.New(ctx, a, clock, discard())
			if err != nil {
				t.Fatal(err)
			}
			sb, err := throttle.New(ctx, b, clock, discard())
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			for i := range 10 {
				s := []*throttle.Service{sa, sb}[i%2]
				_, ok, wait, err := s.Take(ctx, "enroll:203.0.113.1", 4, time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					got++
				} else if wait <= 0 || wait > time.Minute {
					t.Errorf("refused with wait %v", wait)
				}
			}
			if got != 4 {
				t.Errorf("%d of 10 takes over two instances got through; want 4", got)
			}
		})
	}
}

// BenchmarkBlocked is the cost a scan pays for the cross-instance guessing
// limits: two looks in memory (key and card) among many blocked keys.
func BenchmarkBlocked(b *testing.B) {
	st := storetest.Open(b, store.SQLite)
	ctx := context.Background()
	now := time.Now()
	svc, err := throttle.New(ctx, st, func() time.Time { return now }, discard())
	if err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		for range 2 {
			if err := svc.Fail(ctx, fmt.Sprintf("vcard:%d", i), 2, time.Minute); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_, _ = svc.Blocked("vkey", "a-key")
		_, _ = svc.Blocked("vcard", "not-blocked")
	}
}

package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// TestTakeRateLimitIsExactUnderConcurrency: 40 concurrent takers of one
// key with a budget of 7 get exactly 7 places, on both engines; a refused
// taker learns when the window ends; a new window starts afresh.
func TestTakeRateLimitIsExactUnderConcurrency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
		const takers, max = 40, 7
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, refused := 0, 0
		for range takers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := s.TakeRateLimit(ctx, "enroll:203.0.113.9", max, time.Minute, now)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					t.Errorf("take: %v", err)
				case r.OK:
					ok++
				default:
					refused++
					if !r.Until.Equal(now.Add(time.Minute)) {
						t.Errorf("refused until %v, want the window's end %v", r.Until, now.Add(time.Minute))
					}
				}
			}()
		}
		wg.Wait()
		if ok != max || refused != takers-max {
			t.Fatalf("%d concurrent takers: %d let through, %d refused; want exactly %d through", takers, ok, refused, max)
		}
		if r, err := s.TakeRateLimit(ctx, "enroll:198.51.100.1", max, time.Minute, now); err != nil || !r.OK {
			t.Fatalf("another key shares the budget: %+v %v", r, err)
		}
		r, err := s.TakeRateLimit(ctx, "enroll:203.0.113.9", max, time.Minute, now.Add(time.Minute))
		if err != nil || !r.OK || r.Count != 1 || !r.WindowStart.Equal(now.Add(time.Minute)) {
			t.Fatalf("the next window: %+v %v", r, err)
		}
		// A clock a little behind another instance's counts in the same
		// window; a clock set back by more than a period starts afresh.
		if r, err := s.TakeRateLimit(ctx, "enroll:203.0.113.9", max, time.Minute, now.Add(50*time.Second)); err != nil || !r.OK || r.Count != 2 {
			t.Fatalf("a clock 10 s behind: %+v %v; want the 2nd event of the window", r, err)
		}
		if r, err := s.TakeRateLimit(ctx, "enroll:203.0.113.9", max, time.Minute, now.Add(-time.Hour)); err != nil || !r.OK || r.Count != 1 {
			t.Fatalf("a clock set back an hour: %+v %v; want a new window", r, err)
		}
	})
}

// TestRefundRateLimit: a refunded place can be taken again in its window;
// a refund of an ended window changes nothing.
func TestRefundRateLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
		var first store.RateTake
		for i := range 3 {
			r, err := s.TakeRateLimit(ctx, "totp:a", 3, time.Minute, now)
			if err != nil || !r.OK {
				t.Fatalf("take %d: %+v %v", i, r, err)
			}
			first = r
		}
		if r, _ := s.TakeRateLimit(ctx, "totp:a", 3, time.Minute, now); r.OK {
			t.Fatal("a fourth take within the budget of 3")
		}
		storetest.Must(t, s.RefundRateLimit(ctx, "totp:a", first.WindowStart))
		if r, err := s.TakeRateLimit(ctx, "totp:a", 3, time.Minute, now); err != nil || !r.OK {
			t.Fatalf("after a refund: %+v %v", r, err)
		}
		storetest.Must(t, s.RefundRateLimit(ctx, "totp:a", first.WindowStart.Add(-time.Hour)))
		if r, _ := s.TakeRateLimit(ctx, "totp:a", 3, time.Minute, now); r.OK {
			t.Fatal("a refund of another window gave a place back")
		}
	})
}

// TestCountRateFailure: failures are counted without refusal; the one
// that reaches the budget blocks the key to the window's end and publishes
// a throttle notice; failures past it (slipped through elsewhere) extend
// the block by whole periods; a new instance reads the active blocks; the
// sweep deletes only rows that hold nobody back; and 30 concurrent
// failures are all counted.
func TestCountRateFailure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
		notices := make(chan store.Event, 100)
		s.Events().Subscribe(func(ev store.Event) {
			if ev.Kind == store.EventThrottle {
				notices <- ev
			}
		})
		for i := 1; i <= 3; i++ {
			f, err := s.CountRateFailure(ctx, "vcard:c1", 4, time.Minute, now.Add(time.Duration(i)*time.Second))
			if err != nil || f.Count != i || !f.BlockedUntil.IsZero() {
				t.Fatalf("failure %d: %+v %v", i, f, err)
			}
		}
		f, err := s.CountRateFailure(ctx, "vcard:c1", 4, time.Minute, now.Add(4*time.Second))
		windowEnd := now.Add(time.Second + time.Minute)
		if err != nil || f.Count != 4 || !f.BlockedUntil.Equal(windowEnd) {
			t.Fatalf("the 4th failure of 4: %+v %v; want blocked until %v", f, err, windowEnd)
		}
		select {
		case ev := <-notices:
			key, until, ok := store.ThrottleNotice(ev.ID)
			if !ok || key != "vcard:c1" || !until.Equal(windowEnd) {
				t.Fatalf("notice %q: %s %v %v", ev.ID, key, until, ok)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no throttle notice")
		}
		// Five more slipped through elsewhere: 9 failures for a budget of
		// 4 are paid back by a block of three periods.
		for i := range 5 {
			if f, err = s.CountRateFailure(ctx, "vcard:c1", 4, time.Minute, now.Add(5*time.Second)); err != nil {
				t.Fatalf("late failure %d: %v", i, err)
			}
		}
		if want := now.Add(time.Second + 3*time.Minute); f.Count != 9 || !f.BlockedUntil.Equal(want) {
			t.Fatalf("after 9 failures: %+v; want blocked until %v", f, want)
		}
		if r, _ := s.TakeRateLimit(ctx, "vcard:c1", 100, time.Minute, now.Add(2*time.Minute)); r.OK {
			t.Fatal("a blocked key was let through by a take within the block")
		}
		blocks, err := s.ActiveRateBlocks(ctx, now.Add(2*time.Minute))
		if err != nil || len(blocks) != 1 || blocks[0].Key != "vcard:c1" {
			t.Fatalf("active blocks: %+v %v", blocks, err)
		}
		if blocks, _ := s.ActiveRateBlocks(ctx, now.Add(4*time.Minute)); len(blocks) != 0 {
			t.Fatalf("active blocks after the block: %+v", blocks)
		}
		// After the block the key starts afresh.
		if f, err := s.CountRateFailure(ctx, "vcard:c1", 4, time.Minute, now.Add(4*time.Minute)); err != nil || f.Count != 1 || !f.BlockedUntil.IsZero() {
			t.Fatalf("after the block: %+v %v", f, err)
		}

		var wg sync.WaitGroup
		for range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.CountRateFailure(ctx, "vkey:k1", 1000, time.Minute, now); err != nil {
					t.Errorf("concurrent failure: %v", err)
				}
			}()
		}
		wg.Wait()
		if f, err := s.CountRateFailure(ctx, "vkey:k1", 1000, time.Minute, now); err != nil || f.Count != 31 {
			t.Fatalf("after 30 concurrent failures and one more: %+v %v", f, err)
		}

		n, err := s.PurgeRateLimits(ctx, now.Add(30*time.Minute))
		if err != nil || n != 2 {
			t.Fatalf("purge: %d rows, %v; want 2", n, err)
		}
	})
}

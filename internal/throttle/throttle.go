// Package throttle keeps the rate limits on guessable things in the
// database, so that they hold across every instance behind a load
// balancer: N instances give an attacker one budget, not N.
//
// Two kinds of limit live here. Rare requests (enrolment, pairing,
// lost-phone links, guest passes, second-factor codes) take their place
// with one database round trip, exact under concurrency (Take). Verify's
// guessing limits are on the counter's hot path, where a valid scan must
// not pay a round trip: there failures are counted after the decision
// (Fail), and a key that passes its budget is blocked in the database and
// announced by a change notice, so every instance refuses it from memory
// (Blocked) within the change feed's delay. docs/security.md gives the
// bound.
package throttle

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/alumnipass/alumnipass/internal/store"
)

// Storer is what this package needs of the database.
type Storer interface {
	TakeRateLimit(ctx context.Context, key string, max int, period time.Duration, now time.Time) (store.RateTake, error)
	RefundRateLimit(ctx context.Context, key string, windowStart time.Time) error
	CountRateFailure(ctx context.Context, key string, max int, period time.Duration, now time.Time) (store.RateFailure, error)
	ActiveRateBlocks(ctx context.Context, now time.Time) ([]store.RateBlock, error)
	PurgeRateLimits(ctx context.Context, now time.Time) (int64, error)
	Events() *store.Events
}

// maxBlocks bounds the blocks held in memory; past it, ended ones are
// dropped first. Only keys that passed a budget are held, so in practice
// this is never reached.
const maxBlocks = 100_000

// blockKey is a blocked key split at its first colon ("vcard:<id>"), so
// that a look-up on the hot path builds no string.
type blockKey struct{ kind, id string }

func splitKey(key string) blockKey {
	kind, id, _ := strings.Cut(key, ":")
	return blockKey{kind: kind, id: id}
}

// Service is the shared limiter of one process: its counts are in the
// database, and the keys blocked everywhere are mirrored in memory.
type Service struct {
	st     Storer
	now    func() time.Time
	log    *slog.Logger
	mu     sync.RWMutex
	blocks map[blockKey]time.Time // blocked until
	reload chan struct{}
}

// New reads the active blocks (an instance that restarts refuses what the
// others refuse), follows the change feed for new ones until ctx ends, and
// reads them all again whenever the feed says it may have missed some.
func New(ctx context.Context, st Storer, now func() time.Time, log *slog.Logger) (*Service, error) {
	s := &Service{st: st, now: now, log: log, blocks: map[blockKey]time.Time{}, reload: make(chan struct{}, 1)}
	st.Events().Subscribe(s.onEvent) // before the read, so that nothing falls between
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	go s.reloader(ctx)
	return s, nil
}

func (s *Service) onEvent(ev store.Event) {
	switch ev.Kind {
	case store.EventThrottle:
		if key, until, ok := store.ThrottleNotice(ev.ID); ok {
			s.block(key, until)
		}
	case store.EventReset:
		select {
		case s.reload <- struct{}{}:
		default: // a reload is already due
		}
	}
}

// reloader reads the blocks again after each feed reset. While the
// database is away every reset fails; that is logged once per outage.
func (s *Service) reloader(ctx context.Context) {
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.reload:
			err := s.load(ctx)
			switch {
			case err != nil && ctx.Err() == nil && !failing:
				failing = true
				s.log.Warn("rate limit blocks not reloaded; the next feed reset retries", "err", err)
			case err == nil && failing:
				failing = false
				s.log.Info("rate limit blocks reloaded")
			}
		}
	}
}

// load merges the blocks active in the database into memory.
func (s *Service) load(ctx context.Context) error {
	bs, err := s.st.ActiveRateBlocks(ctx, s.now())
	if err != nil {
		return fmt.Errorf("rate limit blocks: %w", err)
	}
	for _, b := range bs {
		s.block(b.Key, time.UnixMilli(b.Until))
	}
	return nil
}

func (s *Service) block(key string, until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.blocks) >= maxBlocks {
		s.dropEnded(s.now())
	}
	k := splitKey(key)
	if until.After(s.blocks[k]) {
		s.blocks[k] = until
	}
}

// dropEnded forgets blocks that are over; s.mu is held.
func (s *Service) dropEnded(now time.Time) {
	for k, until := range s.blocks {
		if !until.After(now) {
			delete(s.blocks, k)
		}
	}
}

// Take counts one event for key if the key has had fewer than max in its
// window (the window opens at its first event and lasts period), across
// every instance. It returns the window the event was counted in (to give
// it back with Refund), or ok false and how long until the key is let
// through again. An error means the count could not be taken: the caller
// must refuse the request.
func (s *Service) Take(ctx context.Context, key string, max int, period time.Duration) (window time.Time, ok bool, wait time.Duration, err error) {
	now := s.now()
	r, err := s.st.TakeRateLimit(ctx, key, max, period, now)
	if err != nil {
		return time.Time{}, false, 0, fmt.Errorf("rate limit %s: %w", key, err)
	}
	if !r.OK {
		return time.Time{}, false, max0(r.Until.Sub(now)), nil
	}
	return r.WindowStart, true, 0, nil
}

// Refund gives back an event counted by Take in window.
func (s *Service) Refund(ctx context.Context, key string, window time.Time) error {
	if err := s.st.RefundRateLimit(ctx, key, window); err != nil {
		return fmt.Errorf("rate limit %s: %w", key, err)
	}
	return nil
}

// Blocked says, from memory, whether the key kind:id is blocked everywhere
// and for how long: the check on the hot path, made before a code is
// decided.
func (s *Service) Blocked(kind, id string) (time.Duration, bool) {
	s.mu.RLock()
	until, ok := s.blocks[blockKey{kind: kind, id: id}]
	s.mu.RUnlock()
	if !ok {
		return 0, false
	}
	wait := until.Sub(s.now())
	return wait, wait > 0
}

// Fail counts a failure of key (max per period), after it happened. When
// the key passes its budget it is blocked everywhere: here at once, in the
// other instances by the change notice the store publishes.
func (s *Service) Fail(ctx context.Context, key string, max int, period time.Duration) error {
	f, err := s.st.CountRateFailure(ctx, key, max, period, s.now())
	if err != nil {
		return fmt.Errorf("rate limit %s: %w", key, err)
	}
	if !f.BlockedUntil.IsZero() {
		s.block(key, f.BlockedUntil)
	}
	return nil
}

// Sweep deletes the rows and forgets the blocks that hold nobody back any
// more; serve's periodic loop calls it.
func (s *Service) Sweep(ctx context.Context) error {
	now := s.now()
	if _, err := s.st.PurgeRateLimits(ctx, now); err != nil {
		return fmt.Errorf("rate limit sweep: %w", err)
	}
	s.mu.Lock()
	s.dropEnded(now)
	s.mu.Unlock()
	return nil
}

func max0(d time.Duration) time.Duration { return max(d, 0) }

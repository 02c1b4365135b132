package httpkit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
)

// Shared counts rate limits across every instance. internal/throttle
// implements it over the database; the web only sees this interface.
type Shared interface {
	// Take counts one event for key within max per period, or says how
	// long until the key is let through (ok false). An error means the
	// count could not be taken: the request must be refused.
	Take(ctx context.Context, key string, max int, period time.Duration) (window time.Time, ok bool, wait time.Duration, err error)
	// Refund gives back an event counted in window.
	Refund(ctx context.Context, key string, window time.Time) error
	// Blocked says from memory whether the key kind:id is blocked on
	// every instance (two parts, so that the hot path builds no string).
	Blocked(kind, id string) (time.Duration, bool)
	// Fail counts a failure of key, max per period; past the budget the
	// key is blocked on every instance.
	Fail(ctx context.Context, key string, max int, period time.Duration) error
}

// ErrLimitUnavailable is the answer when a shared limit cannot be counted
// (the database does not answer): the request is refused, never let
// through unlimited.
var ErrLimitUnavailable = &model.Problem{Kind: model.ErrUnavailable, Code: "rate_limit_unavailable",
	Message: "The rate limit cannot be checked right now, so the request was not tried; try again shortly."}

// SharedLimiter allows at most max events per key per period across every
// instance: one database round trip per request, for rare requests.
type SharedLimiter struct {
	name   string
	max    int
	period time.Duration
	shared Shared
}

// SharedSlot is an event counted by SharedLimiter.Take, to give back with
// Refund when it turned out not to count.
type SharedSlot struct {
	key    string
	window time.Time
}

// Take counts one event for key. When the key is over its limit it counts
// nothing and says how long to wait (at least a second, so that a refusal
// is never mistaken for a pass); when the count cannot be taken it
// returns ErrLimitUnavailable (wrapping the cause), and the caller refuses
// the request.
func (l *SharedLimiter) Take(ctx context.Context, key string) (SharedSlot, bool, time.Duration, error) {
	key = l.name + ":" + key
	window, ok, wait, err := l.shared.Take(ctx, key, l.max, l.period)
	if err != nil {
		return SharedSlot{}, false, 0, fmt.Errorf("%w (%w)", ErrLimitUnavailable, err)
	}
	if !ok {
		return SharedSlot{}, false, max(wait, time.Second), nil // a refusal always has a wait
	}
	return SharedSlot{key: key, window: window}, true, 0, nil
}

// Refund gives back a slot whose event did not count (a right code).
func (l *SharedLimiter) Refund(ctx context.Context, s SharedSlot) error {
	if s.key == "" {
		return nil
	}
	if err := l.shared.Refund(ctx, s.key, s.window); err != nil {
		return fmt.Errorf("%w (%w)", ErrLimitUnavailable, err)
	}
	return nil
}

// VerifyGuesses is the cross-instance side of verify's guessing limits:
// failures (invalid, unknown key, stale) of a partner key, and stale codes
// of a card, are counted in the database after the decision; once a key or
// card passes its budget it is blocked on every instance, which refuses it
// from memory before the next decision, so a valid scan pays no round trip.
type VerifyGuesses struct{ shared Shared }

// KeyBlocked says whether the partner key is blocked on every instance,
// and for how long: a look in memory, no database round trip.
func (g *VerifyGuesses) KeyBlocked(keyID string) (time.Duration, bool) {
	return g.shared.Blocked("vkey", keyID)
}

// CardBlocked says whether the card is blocked on every instance, and for
// how long: a look in memory, no database round trip.
func (g *VerifyGuesses) CardBlocked(card string) (time.Duration, bool) {
	return g.shared.Blocked("vcard", card)
}

// Fail counts a refused code of the partner key and, when it was a stale
// code of a card, of the card.
func (g *VerifyGuesses) Fail(ctx context.Context, keyID, card string) error {
	if err := g.shared.Fail(ctx, "vkey:"+keyID, BadCodesMax, BadCodesPeriod); err != nil {
		return err
	}
	if card == "" {
		return nil
	}
	return g.shared.Fail(ctx, "vcard:"+card, BadCardMax, BadCardPeriod)
}

// LocalShared is a Shared that holds within this process only: for the
// handler tests of the web packages, which have no database. serve wires
// internal/throttle.
type LocalShared struct {
	now     func() time.Time
	mu      sync.Mutex
	windows map[string]*Limiter
	blocked map[string]time.Time
}

// NewLocalShared builds a LocalShared on the clock now.
func NewLocalShared(now func() time.Time) *LocalShared {
	return &LocalShared{now: now, windows: map[string]*Limiter{}, blocked: map[string]time.Time{}}
}

func (s *LocalShared) limiter(key string, max int, period time.Duration) *Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.windows[key]
	if l == nil {
		l = NewLimiter(max, period, s.now)
		s.windows[key] = l
	}
	return l
}

// Take implements Shared.
func (s *LocalShared) Take(_ context.Context, key string, max int, period time.Duration) (time.Time, bool, time.Duration, error) {
	slot, ok, wait := s.limiter(key, max, period).Take(key)
	return slot.start, ok, wait, nil
}

// Refund implements Shared.
func (s *LocalShared) Refund(_ context.Context, key string, window time.Time) error {
	s.mu.Lock()
	l := s.windows[key]
	s.mu.Unlock()
	if l == nil {
		return errors.New("refund of a key never taken")
	}
	l.Refund(Slot{key: key, start: window})
	return nil
}

// Blocked implements Shared.
func (s *LocalShared) Blocked(kind, id string) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wait := s.blocked[kind+":"+id].Sub(s.now())
	return wait, wait > 0
}

// Fail implements Shared.
func (s *LocalShared) Fail(_ context.Context, key string, max int, period time.Duration) error {
	l := s.limiter(key, max, period)
	l.Allow(key)
	if blocked, wait := l.Blocked(key); blocked {
		s.mu.Lock()
		s.blocked[key] = s.now().Add(wait)
		s.mu.Unlock()
	}
	return nil
}

package httpkit

import (
	"sync"
	"time"
)

// window is a fixed-window counter for one key.
type window struct {
	start time.Time
	n     int
}

// Limiter allows at most max events per key per period, in this process.
// Limits are per instance: behind N instances an attacker gets N times the
// budget, which the limits are sized for (docs/security.md).
type Limiter struct {
	mu     sync.Mutex
	max    int
	period time.Duration
	keys   map[string]*window
	now    func() time.Time
}

// NewLimiter allows max events per key per period, by the clock now.
func NewLimiter(max int, period time.Duration, now func() time.Time) *Limiter {
	return &Limiter{max: max, period: period, keys: map[string]*window{}, now: now}
}

// Allow counts one event and says whether it is within the limit, and if
// not, how long until it is.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	w := l.keys[key]
	if w == nil || now.Sub(w.start) >= l.period {
		if len(l.keys) > 100_000 {
			l.sweep(now)
		}
		w = &window{start: now}
		l.keys[key] = w
	}
	w.n++
	if w.n > l.max {
		return false, l.period - now.Sub(w.start)
	}
	return true, 0
}

// Blocked says whether key is over the limit without counting an event.
func (l *Limiter) Blocked(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	w := l.keys[key]
	if w == nil || now.Sub(w.start) >= l.period || w.n < l.max {
		return false, 0
	}
	return true, l.period - now.Sub(w.start)
}

func (l *Limiter) sweep(now time.Time) {
	for k, w := range l.keys {
		if now.Sub(w.start) >= l.period {
			delete(l.keys, k)
		}
	}
}

// Limits are the rate limits on guessable things, one set per process,
// shared by the surfaces (enrolment is limited on the page and the API
// alike).
type Limits struct {
	SignIn      *Limiter // wrong TOTP codes per console user (passwords: auth/signin_throttle.go)
	Enroll      *Limiter // per client address
	BadCodes    *Limiter // invalid/stale answers per partner key
	BadCard     *Limiter // stale answers per card
	Pairing     *Limiter // pairing attempts per client address
	WalletGuest *Limiter // guest pass creation per card
	Recover     *Limiter // lost-phone link requests, per client address and per e-mail
}

// NewLimits builds the limits on the clock now.
func NewLimits(now func() time.Time) *Limits {
	return &Limits{
		SignIn:      NewLimiter(10, 15*time.Minute, now),
		Enroll:      NewLimiter(30, 10*time.Minute, now),
		BadCodes:    NewLimiter(60, time.Minute, now),
		BadCard:     NewLimiter(10, time.Minute, now),
		Pairing:     NewLimiter(10, 10*time.Minute, now),
		WalletGuest: NewLimiter(20, time.Hour, now),
		Recover:     NewLimiter(5, time.Hour, now),
	}
}

// Slot is a place taken in a limiter's window, to give back with Refund.
type Slot struct {
	key   string
	start time.Time
}

// Take counts one event for key ahead of its outcome. When key is already
// at its limit it counts nothing and says how long until the window ends.
func (l *Limiter) Take(key string) (Slot, bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	w := l.keys[key]
	if w == nil || now.Sub(w.start) >= l.period || now.Before(w.start) { // a clock set back starts afresh
		if len(l.keys) > 100_000 {
			l.sweep(now)
		}
		w = &window{start: now}
		l.keys[key] = w
	}
	if w.n >= l.max {
		return Slot{}, false, l.period - now.Sub(w.start)
	}
	w.n++
	return Slot{key: key, start: w.start}, true, 0
}

// Refund gives back a slot whose event turned out not to count (the scan
// was not a failure). A slot of a window that has since ended is dropped.
func (l *Limiter) Refund(s Slot) {
	if s.key == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.keys[s.key]
	if w == nil || !w.start.Equal(s.start) || w.n == 0 {
		return
	}
	if w.n--; w.n == 0 {
		delete(l.keys, s.key)
	}
}

package web

import (
	"sync"
	"time"
)

// window is a fixed-window counter for one key.
type window struct {
	start time.Time
	n     int
}

// limiter allows at most max events per key per period, in this process.
// Limits are per instance: behind N instances an attacker gets N times the
// budget, which the limits are sized for (docs/security.md).
type limiter struct {
	mu     sync.Mutex
	max    int
	period time.Duration
	keys   map[string]*window
	now    func() time.Time
}

func newLimiter(max int, period time.Duration, now func() time.Time) *limiter {
	return &limiter{max: max, period: period, keys: map[string]*window{}, now: now}
}

// allow counts one event and says whether it is within the limit, and if
// not, how long until it is.
func (l *limiter) allow(key string) (bool, time.Duration) {
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

// blocked says whether key is over the limit without counting an event.
func (l *limiter) blocked(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	w := l.keys[key]
	if w == nil || now.Sub(w.start) >= l.period || w.n < l.max {
		return false, 0
	}
	return true, l.period - now.Sub(w.start)
}

func (l *limiter) sweep(now time.Time) {
	for k, w := range l.keys {
		if now.Sub(w.start) >= l.period {
			delete(l.keys, k)
		}
	}
}

// limiters are the rate limits on guessable things.
type limiters struct {
	signIn      *limiter // wrong TOTP codes per console user (passwords: auth/signin_throttle.go)
	enroll      *limiter // per client address
	badCodes    *limiter // invalid/stale answers per partner key
	badCard     *limiter // stale answers per card
	pairing     *limiter // pairing attempts per client address
	walletGuest *limiter // guest pass creation per card
}

func newLimiters(now func() time.Time) *limiters {
	return &limiters{
		signIn:      newLimiter(10, 15*time.Minute, now),
		enroll:      newLimiter(30, 10*time.Minute, now),
		badCodes:    newLimiter(60, time.Minute, now),
		badCard:     newLimiter(10, time.Minute, now),
		pairing:     newLimiter(10, 10*time.Minute, now),
		walletGuest: newLimiter(20, time.Hour, now),
	}
}

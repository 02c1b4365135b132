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

// Limiter allows at most max events per key per period, in this process
// only: behind N instances it alone would give an attacker N times the
// budget. It bounds verify's guessing inside one instance; Limits counts
// across instances (docs/security.md).
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

// Limits are the rate limits on guessable things, shared by the surfaces
// (enrolment is limited on the page and the API alike). The limits on rare
// requests are counted in the database through Shared, so that they hold
// across every instance; verify's guessing limits, on the counter's hot
// path, are counted per instance ahead of the decision (a burst inside one
// instance, and the "no oracle" rule of api/verify_throttle.go) and their
// failures also in the database, which blocks a key everywhere once it
// passes its budget (VerifyGuesses).
type Limits struct {
	SignIn      *SharedLimiter // wrong TOTP codes per console user (passwords: auth/signin_throttle.go)
	Enroll      *SharedLimiter // per client address
	Pairing     *SharedLimiter // pairing attempts per client address
	WalletGuest *SharedLimiter // guest pass creation per card
	Recover     *SharedLimiter // lost-phone link requests, per client address and per e-mail
	UserCode    *SharedLimiter // user codes of a sign-in on another device that match nothing, per client address and per member
	BadCodes    *Limiter       // invalid/stale answers per partner key, in this instance
	BadCard     *Limiter       // stale answers per card, in this instance
	Guesses     *VerifyGuesses // BadCodes and BadCard across instances
}

// Budgets of the limits: events per key per window.
const (
	SignInMax, SignInPeriod           = 10, 15 * time.Minute
	EnrollMax, EnrollPeriod           = 30, 10 * time.Minute
	PairingMax, PairingPeriod         = 10, 10 * time.Minute
	WalletGuestMax, WalletGuestPeriod = 20, time.Hour
	RecoverMax, RecoverPeriod         = 5, time.Hour
	UserCodeMax, UserCodePeriod       = 10, 10 * time.Minute
	BadCodesMax, BadCodesPeriod       = 60, time.Minute
	BadCardMax, BadCardPeriod         = 10, time.Minute
)

// NewLimits builds the limits on the clock now, counting the shared ones
// in shared (internal/throttle over the database).
func NewLimits(now func() time.Time, shared Shared) *Limits {
	return &Limits{
		SignIn:      &SharedLimiter{name: "totp", max: SignInMax, period: SignInPeriod, shared: shared},
		Enroll:      &SharedLimiter{name: "enroll", max: EnrollMax, period: EnrollPeriod, shared: shared},
		Pairing:     &SharedLimiter{name: "pair", max: PairingMax, period: PairingPeriod, shared: shared},
		WalletGuest: &SharedLimiter{name: "guest", max: WalletGuestMax, period: WalletGuestPeriod, shared: shared},
		Recover:     &SharedLimiter{name: "recover", max: RecoverMax, period: RecoverPeriod, shared: shared},
		UserCode:    &SharedLimiter{name: "usercode", max: UserCodeMax, period: UserCodePeriod, shared: shared},
		BadCodes:    NewLimiter(BadCodesMax, BadCodesPeriod, now),
		BadCard:     NewLimiter(BadCardMax, BadCardPeriod, now),
		Guesses:     &VerifyGuesses{shared: shared},
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

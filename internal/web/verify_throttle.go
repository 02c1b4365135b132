package web

import (
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/credential"
	"github.com/alumnipass/alumnipass/internal/model"
)

// The guessing throttle of POST /api/v1/verify.
//
// A guesser holding a picture of a card tries TOTP values. Two rules keep
// the throttle from telling it anything:
//
//   - The decision is made before the code is checked: once a card (or a
//     key) is throttled, every scan of it gets the same 429 with Retry-After,
//     right code or wrong. (Withholding only the valid answer, as before,
//     told the guesser which code was right.)
//   - A scan takes its place in the budget before it is decided and gives it
//     back if it was not a failure, so concurrent requests cannot all pass
//     the check before any of them is counted.
//
// Failures of a card count across every device key; each key also has its
// own budget of refused codes, and the keys of a venue are capped
// (partners.Options.MaxKeysPerVenue).

// slot is a place taken in a limiter's window, to give back with refund.
type slot struct {
	key   string
	start time.Time
}

// take counts one event for key ahead of its outcome. When key is already
// at its limit it counts nothing and says how long until the window ends.
func (l *limiter) take(key string) (slot, bool, time.Duration) {
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
		return slot{}, false, l.period - now.Sub(w.start)
	}
	w.n++
	return slot{key: key, start: w.start}, true, 0
}

// refund gives back a slot whose event turned out not to count (the scan
// was not a failure). A slot of a window that has since ended is dropped.
func (l *limiter) refund(s slot) {
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

// guessFailure says whether a verification result counts against the
// budgets: a code refused as forged, signed by an unknown key, or stale.
func guessFailure(result string) bool {
	return result == model.ResultInvalid || result == model.ResultUnknownKey || result == model.ResultStale
}

// cardOfCode is the card a card code names, read without checking it, or
// "" for anything else (guest passes have no TOTP to guess). A forged code
// naming a card can only meet that card's throttle, never lift it.
func cardOfCode(code string) string {
	p, err := credential.Parse(code)
	if err != nil || p.Kind != credential.KindCard {
		return ""
	}
	return uuid.UUID(p.Card.CardID).String()
}

package main

import (
	"sync/atomic"
	"time"

	"github.com/alumnipass/alumnipass/internal/credential"
)

// stepMargin keeps a code this far from the edge of the server's ±1-step
// window, so a request in flight across a step boundary is never stale.
const stepMargin = 2 * time.Second

// codePool hands out card codes the way phones at counters would: every code
// text is new (a card shows a new TOTP every 30 s, and the server accepts
// the previous and next step too, so a card has up to three acceptable
// codes at any moment), and each card is always scanned at the same venue.
// So the server sees the real valid path: no repeats, no replays. When
// every card has shown all its acceptable codes, take falls back to showing
// a card's current code again, which the server answers as a repeat.
type codePool struct {
	wallets []*wallet
	next    atomic.Uint64
	spent   atomic.Int64 // the newest step up to which every card is used up
	reshown atomic.Int64 // codes handed out again because all were used
}

func totpStep(t time.Time) int64 { return t.Unix() / int64(credential.TOTPPeriod/time.Second) }

// codeAt is a card's code for one TOTP step.
func (w *wallet) codeAt(step int64) string {
	return credential.CardCode(w.signedPart, credential.TOTP(w.secret, time.Unix(step*int64(credential.TOTPPeriod/time.Second), 0)))
}

// take returns a card, a code for it and whether the code is shown for the
// first time.
func (p *codePool) take(now time.Time) (*wallet, string, bool) {
	lo, hi := totpStep(now.Add(stepMargin))-1, totpStep(now.Add(-stepMargin))+1
	n := uint64(len(p.wallets))
	for range len(p.wallets) {
		if p.spent.Load() >= hi {
			break
		}
		w := p.wallets[p.next.Add(1)%n]
		for {
			last := w.lastStep.Load()
			step := max(last+1, lo)
			if step > hi {
				break
			}
			if w.lastStep.CompareAndSwap(last, step) {
				return w, w.codeAt(step), true
			}
		}
	}
	p.spent.Store(max(p.spent.Load(), hi))
	p.reshown.Add(1)
	w := p.wallets[p.next.Add(1)%n]
	return w, w.codeAt(totpStep(now)), false
}

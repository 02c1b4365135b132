package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// Console sign-in throttling. A lockout per e-mail or per address would be
// a lever for anyone: ten wrong passwords would lock a user out everywhere,
// or every user behind one address. Instead, as well-run identity providers
// do, failures count per (account, address) pair with a delay that doubles
// after a few free tries, so an attacker at one address is slowed to a
// crawl while the same user signs in from elsewhere untouched; and a looser
// cap per address across accounts stops one address from spraying many
// accounts. Counts live in the database, so every instance shares them.
const (
	pairFree     = 5                // failures per (account, address) before any delay
	pairBaseWait = time.Second      // the first delay; it doubles per further failure
	pairMaxWait  = 15 * time.Minute // the longest delay
	pairForget   = 12 * time.Hour   // a pair's count is forgotten after this long without a failure
	addrMax      = 50               // failures per address across accounts in one window
	addrWindow   = 15 * time.Minute
)

// ThrottledError says that a sign-in was not tried because its address, or
// its account from that address, failed too often; try again after Wait.
type ThrottledError struct{ Wait time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed sign-ins; retry in %s", e.Wait.Round(time.Second))
}

// Unwrap makes it a model.ErrRateLimited.
func (e *ThrottledError) Unwrap() error { return model.ErrRateLimited }

// signInKeys are the throttle keys of an attempt: the pair (hashed, so the
// table holds no e-mail addresses) and the address. An IPv6 client counts
// by its /64, which one subscriber usually has whole.
func signInKeys(email, addr string) (pair, address string) {
	address = "addr:" + addr
	if ip, err := netip.ParseAddr(addr); err == nil {
		ip = ip.Unmap()
		if ip.Is6() {
			p, _ := ip.Prefix(64)
			address = "addr:" + p.String()
		} else {
			address = "addr:" + ip.String()
		}
	}
	sum := sha256.Sum256([]byte(email + "\n" + address))
	return "pair:" + hex.EncodeToString(sum[:]), address
}

// pairWait is the delay after n failures of a pair.
func pairWait(n int) time.Duration {
	if n < pairFree {
		return 0
	}
	if n-pairFree >= 20 {
		return pairMaxWait
	}
	return min(pairBaseWait<<(n-pairFree), pairMaxWait)
}

// chargeSignIn counts an attempt as a failure before the password is
// checked (a right password refunds it), so that parallel attempts cannot
// all slip through before the first failure is written; it refuses the
// attempt while the pair waits out its delay or the address is over its cap.
func (c *Console) chargeSignIn(ctx context.Context, pairKey, addrKey string) error {
	now := c.now().UTC().Truncate(time.Microsecond) // what the database keeps
	var wait time.Duration
	err := c.st.InTx(ctx, func(tx *store.Tx) error {
		p, err := tx.LockSignInThrottle(ctx, pairKey, now)
		if err != nil {
			return err
		}
		a, err := tx.LockSignInThrottle(ctx, addrKey, now)
		if err != nil {
			return err
		}
		if now.Sub(p.LastAt) >= pairForget {
			p.Failures, p.BlockedUntil = 0, now
		}
		if now.Sub(a.WindowStart) >= addrWindow {
			a.Failures, a.WindowStart = 0, now
		}
		wait = max(p.BlockedUntil.Sub(now), 0)
		if a.Failures >= addrMax {
			wait = max(wait, a.WindowStart.Add(addrWindow).Sub(now))
		}
		if wait > 0 {
			return nil
		}
		p.Failures++
		p.LastAt, p.BlockedUntil = now, now.Add(pairWait(p.Failures))
		a.Failures++
		a.LastAt = now
		if err := tx.SaveSignInThrottle(ctx, p); err != nil {
			return err
		}
		return tx.SaveSignInThrottle(ctx, a)
	})
	if err != nil {
		return fmt.Errorf("sign-in throttle: %w", err)
	}
	if wait > 0 {
		return &ThrottledError{Wait: wait}
	}
	if err := c.st.PurgeSignInThrottle(ctx, now.Add(-pairForget)); err != nil {
		return fmt.Errorf("sign-in throttle: %w", err)
	}
	return nil
}

// refundSignIn takes back the failure charged for an attempt whose password
// was right: the pair starts afresh and the address gets its try back.
func (c *Console) refundSignIn(ctx context.Context, pairKey, addrKey string) error {
	now := c.now().UTC()
	err := c.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteSignInThrottle(ctx, pairKey); err != nil {
			return err
		}
		a, err := tx.LockSignInThrottle(ctx, addrKey, now)
		if err != nil {
			return err
		}
		a.Failures = max(a.Failures-1, 0)
		return tx.SaveSignInThrottle(ctx, a)
	})
	if err != nil {
		return fmt.Errorf("sign-in throttle: %w", err)
	}
	return nil
}

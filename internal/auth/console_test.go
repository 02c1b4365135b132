package auth

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/seal"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// testClock is a pinned clock the test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newTestConsole(t *testing.T, st *store.Store) (*Console, *testClock) {
	t.Helper()
	sealer, err := seal.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	// The middle of a 30 s step, so that codes of "now" stay in it.
	clk := &testClock{now: time.Unix(1_900_000_005, 0).UTC()}
	return NewConsole(st, sealer, clk.Now), clk
}

// signedIn opens a session for the user as a right password would (bcrypt
// is slow under -race; SignIn itself is tested through the server) and
// resolves it as the next request would.
func signedIn(t *testing.T, c *Console, email, pw string) *Session {
	t.Helper()
	s, _ := signedInCookie(t, c, email, pw)
	return s
}

func signedInCookie(t *testing.T, c *Console, email, _ string) (*Session, string) {
	t.Helper()
	ctx := context.Background()
	a, err := c.st.AdminByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	cookie, err := c.newSession(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	return reload(t, c, cookie), cookie
}

func reload(t *testing.T, c *Console, cookie string) *Session {
	t.Helper()
	s, err := c.Session(context.Background(), cookie)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const testPassword = "correct horse battery"

// TestTOTPCodeUsedOnce: a console TOTP code is accepted once (RFC 6238
// §5.2): not again in another session, and of two sign-ins racing with one
// code exactly one succeeds, on both databases.
func TestTOTPCodeUsedOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		c, clk := newTestConsole(t, st)
		if _, err := c.CreateAdmin(ctx, "once@example.com", "Once", testPassword, model.RoleHR, "", "ja"); err != nil {
			t.Fatal(err)
		}
		s1 := signedIn(t, c, "once@example.com", testPassword)
		_, secret, err := c.StartTOTPEnrolment(ctx, s1)
		if err != nil {
			t.Fatal(err)
		}
		code, _ := totp.GenerateCode(secret, clk.Now())
		if _, err := c.CheckTOTP(ctx, s1, code); err != nil {
			t.Fatalf("confirming code: %v", err)
		}
		// The confirming code again, in a new session: refused.
		s2 := signedIn(t, c, "once@example.com", testPassword)
		if _, err := c.CheckTOTP(ctx, s2, code); !errors.Is(err, model.ErrUnauthorized) {
			t.Fatalf("the confirming code was accepted a second time: %v", err)
		}
		// The next step's code, by eight sessions at once: one wins.
		clk.Advance(30 * time.Second)
		code, _ = totp.GenerateCode(secret, clk.Now())
		sessions := make([]*Session, 8)
		for i := range sessions {
			sessions[i] = signedIn(t, c, "once@example.com", testPassword)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for _, s := range sessions {
			wg.Add(1)
			go func(s *Session) {
				defer wg.Done()
				_, err := c.CheckTOTP(ctx, s, code)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, model.ErrUnauthorized):
					t.Errorf("racing sign-in: %v", err)
				}
			}(s)
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("one code completed %d sign-ins, want 1", wins)
		}
		// An earlier step's code, still within the drift, is not good after a later one.
		old, _ := totp.GenerateCode(secret, clk.Now().Add(-30*time.Second))
		if _, err := c.CheckTOTP(ctx, signedIn(t, c, "once@example.com", testPassword), old); !errors.Is(err, model.ErrUnauthorized) {
			t.Fatalf("an older code after a newer one: %v", err)
		}
		// The following step's code works.
		clk.Advance(30 * time.Second)
		code, _ = totp.GenerateCode(secret, clk.Now())
		if _, err := c.CheckTOTP(ctx, signedIn(t, c, "once@example.com", testPassword), code); err != nil {
			t.Fatalf("a fresh code: %v", err)
		}
	})
}

// TestTOTPSetupSecretPerSession: every session setting up the second
// factor is shown its own secret (the same one on reload), and once one
// session confirms, the others' secrets are worth nothing.
func TestTOTPSetupSecretPerSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		c, clk := newTestConsole(t, st)
		if _, err := c.CreateAdmin(ctx, "setup@example.com", "Setup", testPassword, model.RoleHR, "", "ja"); err != nil {
			t.Fatal(err)
		}
		user, userCookie := signedInCookie(t, c, "setup@example.com", testPassword)
		other, otherCookie := signedInCookie(t, c, "setup@example.com", testPassword) // someone else with the password
		_, userSecret, err := c.PendingTOTP(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		_, otherSecret, err := c.PendingTOTP(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		if userSecret == otherSecret {
			t.Fatal("two sessions were shown the same TOTP secret")
		}
		if _, s, err := c.PendingTOTP(ctx, reload(t, c, userCookie)); err != nil || s != userSecret {
			t.Fatalf("the secret changed on reload: %q vs %q (%v)", s, userSecret, err)
		}

		code, _ := totp.GenerateCode(userSecret, clk.Now())
		if _, err := c.CheckTOTP(ctx, user, code); err != nil {
			t.Fatalf("confirm: %v", err)
		}
		// The other session's secret confirms nothing and signs nothing in,
		// even in a session opened afterwards.
		otherCode, _ := totp.GenerateCode(otherSecret, clk.Now())
		if _, err := c.CheckTOTP(ctx, other, otherCode); !errors.Is(err, model.ErrUnauthorized) {
			t.Fatalf("the other session's secret after confirmation: %v", err)
		}
		clk.Advance(30 * time.Second)
		otherCode, _ = totp.GenerateCode(otherSecret, clk.Now())
		if _, err := c.CheckTOTP(ctx, signedIn(t, c, "setup@example.com", testPassword), otherCode); !errors.Is(err, model.ErrUnauthorized) {
			t.Fatalf("the other secret in a new session: %v", err)
		}
		row, err := c.st.SessionByHash(ctx, other.Hash, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		if row.TOTPPendingEnc != nil {
			t.Error("the other session still holds its pending secret")
		}
		if _, _, err := c.PendingTOTP(ctx, reload(t, c, otherCookie)); !errors.Is(err, model.ErrConflict) {
			t.Errorf("setup after confirmation: %v", err)
		}
	})
}

// TestSignInThrottle: failures count per (account, address) with a
// doubling delay, so that hammering one user from one address does not
// hold that user back elsewhere, and per address across accounts; the
// counts are atomic under concurrent attempts.
func TestSignInThrottle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		c, clk := newTestConsole(t, st)
		charge := func(email, addr string) error {
			p, a := signInKeys(email, addr)
			return c.chargeSignIn(ctx, p, a)
		}
		wait := func(err error) time.Duration {
			var te *ThrottledError
			if !errors.As(err, &te) || !errors.Is(err, model.ErrRateLimited) {
				t.Fatalf("want a throttled error, got %v", err)
			}
			return te.Wait
		}
		// Concurrent attempts on one pair: exactly the free ones get through.
		var wg sync.WaitGroup
		var mu sync.Mutex
		passed := 0
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := charge("x@example.com", "198.51.100.7"); err == nil {
					mu.Lock()
					passed++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if passed != pairFree {
			t.Fatalf("%d concurrent attempts passed, want %d", passed, pairFree)
		}
		if w := wait(charge("x@example.com", "198.51.100.7")); w != time.Second {
			t.Fatalf("first delay %v, want 1s", w)
		}
		// The same user from another address, and another user from the
		// attacker's address, are not held back.
		if err := charge("x@example.com", "203.0.113.9"); err != nil {
			t.Fatalf("the user from another address: %v", err)
		}
		if err := charge("y@example.com", "198.51.100.7"); err != nil {
			t.Fatalf("another user from the same address: %v", err)
		}
		// The delay doubles.
		for _, want := range []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second} {
			clk.Advance(wait(charge("x@example.com", "198.51.100.7")))
			if err := charge("x@example.com", "198.51.100.7"); err != nil {
				t.Fatalf("after waiting: %v", err)
			}
			if w := wait(charge("x@example.com", "198.51.100.7")); w != want {
				t.Fatalf("delay %v, want %v", w, want)
			}
		}
		// A right password clears the pair.
		p, a := signInKeys("x@example.com", "198.51.100.7")
		if err := c.refundSignIn(ctx, p, a); err != nil {
			t.Fatal(err)
		}
		if err := charge("x@example.com", "198.51.100.7"); err != nil {
			t.Fatalf("after a successful sign-in: %v", err)
		}
		// One address spraying many accounts hits the address cap, which
		// leaves other addresses alone; an IPv6 client counts by its /64.
		for i := 0; ; i++ {
			err := charge(string(rune('a'+i%26))+"-spray@example.com"+string(rune('0'+i/26)), "2001:db8:1:2::1")
			if err != nil {
				if i != addrMax {
					t.Fatalf("the address cap stopped attempt %d, want %d", i, addrMax)
				}
				break
			}
		}
		if w := wait(charge("new@example.com", "2001:db8:1:2:ffff::9")); w <= 0 || w > addrWindow {
			t.Fatalf("same /64: wait %v", w)
		}
		if err := charge("new@example.com", "2001:db8:1:3::1"); err != nil {
			t.Fatalf("another /64: %v", err)
		}
		clk.Advance(addrWindow)
		if err := charge("new@example.com", "2001:db8:1:2::1"); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})
}

package httpkit

import (
	"context"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestLimiterWindow(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}
	l := NewLimiter(3, time.Minute, c.now)
	for i := range 3 {
		if ok, _ := l.Allow("k"); !ok {
			t.Fatalf("event %d refused within the limit", i+1)
		}
	}
	if blocked, _ := l.Blocked("k"); !blocked {
		t.Error("a key at its limit is not blocked")
	}
	c.t = c.t.Add(20 * time.Second)
	ok, wait := l.Allow("k")
	if ok || wait != 40*time.Second {
		t.Errorf("the 4th event: %v, wait %v; want refused, 40s", ok, wait)
	}
	if ok, _ := l.Allow("other"); !ok {
		t.Error("another key shares the budget")
	}
	c.t = c.t.Add(40 * time.Second)
	if ok, _ := l.Allow("k"); !ok {
		t.Error("a new window does not start afresh")
	}
}

// Take counts before the outcome, Refund gives back what did not count,
// and a full key is refused without being counted.
func TestLimiterTakeRefund(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}
	l := NewLimiter(2, time.Minute, c.now)
	a, ok, _ := l.Take("k")
	b, ok2, _ := l.Take("k")
	if !ok || !ok2 {
		t.Fatal("two takes refused within a limit of two")
	}
	if _, ok, wait := l.Take("k"); ok || wait != time.Minute {
		t.Fatalf("a third take: %v, %v; want refused for a minute", ok, wait)
	}
	l.Refund(a)
	if _, ok, _ := l.Take("k"); !ok {
		t.Fatal("a refunded place is not free again")
	}
	c.t = c.t.Add(time.Minute)
	l.Refund(b) // from an ended window: dropped
	for i := range 2 {
		if _, ok, _ := l.Take("k"); !ok {
			t.Fatalf("take %d of a new window refused", i+1)
		}
	}
	if _, ok, _ := l.Take("k"); ok {
		t.Error("a refund from an ended window freed a place in the new one")
	}
	l.Refund(Slot{}) // the zero slot is nothing to give back
}

// refusingShared refuses every take with no wait left (the window ends
// right now).
type refusingShared struct{ *LocalShared }

func (refusingShared) Take(context.Context, string, int, time.Duration) (time.Time, bool, time.Duration, error) {
	return time.Time{}, false, 0, nil
}

// A shared refusal always carries a wait, so that no caller can read it as
// a pass; a take that cannot be counted is ErrLimitUnavailable.
func TestSharedLimiterRefusal(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}
	l := NewLimits(c.now, refusingShared{NewLocalShared(c.now)})
	if _, ok, wait, err := l.SignIn.Take(context.Background(), "admin"); ok || wait < time.Second || err != nil {
		t.Errorf("refused take: ok %v, wait %v, err %v; want refused with a wait of at least 1s", ok, wait, err)
	}
	local := NewLimits(c.now, NewLocalShared(c.now))
	for i := range SignInMax {
		if _, ok, _, err := local.SignIn.Take(context.Background(), "admin"); !ok || err != nil {
			t.Fatalf("take %d within the budget: %v %v", i+1, ok, err)
		}
	}
	if _, ok, wait, _ := local.SignIn.Take(context.Background(), "admin"); ok || wait != SignInPeriod {
		t.Errorf("take past the budget: ok %v, wait %v; want refused for the window", ok, wait)
	}
}

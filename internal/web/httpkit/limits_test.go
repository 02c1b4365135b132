package httpkit

import (
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

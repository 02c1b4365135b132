package verify

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// cachedCard is a card entry shaped like a real one (a 36-char id, a signed
// part of a real card's length, a 20-byte secret, a Japanese name).
func cachedCard(memberID string) *cardEntry {
	return &cardEntry{
		state: store.CardState{CardID: uuid.NewString(), MemberID: memberID, CardStatus: model.CardActive,
			SignedPart: strings.Repeat("A", 160), Tier: "gold", MemberStatus: "active",
			FamilyName: "髙橋", GivenName: "美咲", Locale: "ja"},
		secret: make([]byte, 20),
	}
}

func TestCacheIsBounded(t *testing.T) {
	c := newCache(100)
	for i := 0; i < 1000; i++ {
		e := cachedCard(fmt.Sprintf("m%d", i))
		_, _, gen := c.card(e.state.CardID)
		c.putCard(e.state.CardID, e, gen)
	}
	if n := c.len(); n != 100 {
		t.Fatalf("cache holds %d cards, bound is 100", n)
	}
	// The member index forgets evicted cards too, or it would grow without bound.
	if n := len(c.byMember); n != 100 {
		t.Fatalf("member index holds %d members for 100 cached cards", n)
	}
}

func TestCacheOff(t *testing.T) {
	c := newCache(0)
	e := cachedCard("m")
	_, _, gen := c.card(e.state.CardID)
	c.putCard(e.state.CardID, e, gen)
	if _, ok, _ := c.card(e.state.CardID); ok || c.len() != 0 {
		t.Fatal("a cache of size 0 kept a card")
	}
	c.invalidate(store.Event{Kind: store.EventMember, ID: "m"}) // must not panic
}

func TestCacheInvalidation(t *testing.T) {
	put := func(c *cache, e *cardEntry) {
		_, _, gen := c.card(e.state.CardID)
		c.putCard(e.state.CardID, e, gen)
	}
	has := func(c *cache, e *cardEntry) bool {
		_, ok, _ := c.card(e.state.CardID)
		return ok
	}
	a1, a2, b := cachedCard("a"), cachedCard("a"), cachedCard("b")
	perks := []model.Perk{{ID: "p"}}
	cases := []struct {
		ev              store.Event
		a1, a2, b, perk bool // what survives
	}{
		{store.Event{Kind: store.EventMember, ID: "a"}, false, false, true, true},
		{store.Event{Kind: store.EventCard, ID: a2.state.CardID}, true, false, true, true},
		{store.Event{Kind: store.EventMembers}, false, false, false, true},
		{store.Event{Kind: store.EventPerk, ID: "partner"}, true, true, true, false},
		{store.Event{Kind: store.EventPartner, ID: "partner"}, true, true, true, false},
		{store.Event{Kind: store.EventPerk, ID: "other"}, true, true, true, true},
		{store.Event{Kind: store.EventAPIKey, ID: "k"}, true, true, true, true},
		{store.Event{Kind: store.EventSigningKey, ID: "k"}, true, true, true, true},
		{store.Event{Kind: store.EventThrottle, ID: "1767000000000 vcard:c"}, true, true, true, true},
		{store.Event{Kind: store.EventReset}, false, false, false, false},
		{store.Event{Kind: "from-a-newer-version"}, false, false, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.ev.Kind+"/"+tc.ev.ID, func(t *testing.T) {
			c := newCache(10)
			put(c, a1)
			put(c, a2)
			put(c, b)
			_, _, gen := c.partnerPerks("partner")
			c.putPerks("partner", perks, gen)
			c.invalidate(tc.ev)
			_, perk, _ := c.partnerPerks("partner")
			got := [4]bool{has(c, a1), has(c, a2), has(c, b), perk}
			if want := [4]bool{tc.a1, tc.a2, tc.b, tc.perk}; got != want {
				t.Fatalf("after %v: survived a1,a2,b,perk = %v, want %v", tc.ev, got, want)
			}
		})
	}
}

// TestCacheRefusesARacedRead: a card read before a notice and stored after
// it would bring back the state the notice invalidated.
func TestCacheRefusesARacedRead(t *testing.T) {
	c := newCache(10)
	e := cachedCard("a")
	_, _, gen := c.card(e.state.CardID) // the verifier starts reading the database
	c.invalidate(store.Event{Kind: store.EventMember, ID: "a"})
	c.putCard(e.state.CardID, e, gen) // the read answers with the old state
	if _, ok, _ := c.card(e.state.CardID); ok {
		t.Fatal("a read that raced a change notice was cached")
	}
	_, _, gen = c.partnerPerks("p")
	c.invalidate(store.Event{Kind: store.EventPerk, ID: "p"})
	c.putPerks("p", []model.Perk{{ID: "old"}}, gen)
	if _, ok, _ := c.partnerPerks("p"); ok {
		t.Fatal("perks read before a perk notice were cached")
	}
}

// BenchmarkCacheMemory reports the heap a cached card takes (bytes/card),
// the number docs/operations.md gives for sizing ALUMNIPASS_CARD_CACHE_SIZE.
func BenchmarkCacheMemory(b *testing.B) {
	const n = 100_000
	for i := 0; i < b.N; i++ {
		entries := make([]*cardEntry, n)
		for j := range entries {
			entries[j] = cachedCard(uuid.NewString())
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c := newCache(n)
		for _, e := range entries {
			_, _, gen := c.card(e.state.CardID)
			c.putCard(e.state.CardID, e, gen)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		// Entries were built before the measurement; add their own size
		// (they are what the cache keeps alive in production).
		perEntry := 0.0
		{
			var m0, m1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m0)
			extra := make([]*cardEntry, 10_000)
			for j := range extra {
				extra[j] = cachedCard(uuid.NewString())
			}
			runtime.GC()
			runtime.ReadMemStats(&m1)
			perEntry = float64(m1.HeapAlloc-m0.HeapAlloc) / float64(len(extra))
			runtime.KeepAlive(extra)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n+perEntry, "bytes/card")
		runtime.KeepAlive(c)
		runtime.KeepAlive(entries)
	}
}

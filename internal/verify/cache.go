package verify

import (
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// cache holds what the verifier read of cards and perks, bounded in size,
// and forgets it on every change notice. A generation counter, bumped by
// every notice, keeps a read that raced a change from being cached: an
// answer is stored only if no notice arrived while it was being read.
type cache struct {
	mu       sync.Mutex
	gen      uint64
	cards    *lru.Cache[string, *cardEntry] // nil when caching is off
	byMember map[string]map[string]struct{} // member id → cached card ids
	perks    map[string][]model.Perk        // by partner; bounded by the partner count
}

// newCache keeps at most size cards (least recently used out first); 0 keeps none.
func newCache(size int) *cache {
	c := &cache{byMember: map[string]map[string]struct{}{}, perks: map[string][]model.Perk{}}
	if size > 0 {
		// The eviction callback runs inside Add/Remove/Purge, which are only
		// called with c.mu held, so it may touch byMember.
		cards, err := lru.NewWithEvict(size, c.unindex)
		if err == nil {
			c.cards = cards
		}
	}
	return c
}

func (c *cache) unindex(cardID string, e *cardEntry) {
	m := e.state.MemberID
	if set := c.byMember[m]; set != nil {
		delete(set, cardID)
		if len(set) == 0 {
			delete(c.byMember, m)
		}
	}
}

// card returns a cached card and the generation to hand back to putCard.
func (c *cache) card(id string) (*cardEntry, bool, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cards == nil {
		return nil, false, c.gen
	}
	e, ok := c.cards.Get(id)
	return e, ok, c.gen
}

// putCard stores a card read at generation gen, unless a notice came since.
func (c *cache) putCard(id string, e *cardEntry, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cards == nil || c.gen != gen {
		return
	}
	c.cards.Add(id, e)
	set := c.byMember[e.state.MemberID]
	if set == nil {
		set = map[string]struct{}{}
		c.byMember[e.state.MemberID] = set
	}
	set[id] = struct{}{}
}

// partnerPerks returns a partner's cached perks and the generation.
func (c *cache) partnerPerks(partnerID string) ([]model.Perk, bool, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.perks[partnerID]
	return ps, ok, c.gen
}

// putPerks stores a partner's perks read at generation gen.
func (c *cache) putPerks(partnerID string, ps []model.Perk, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.perks[partnerID] = ps
	}
}

// len is the number of cached cards.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cards == nil {
		return 0
	}
	return c.cards.Len()
}

// invalidate applies one change notice.
func (c *cache) invalidate(ev store.Event) {
	if ev.Kind == store.EventThrottle {
		// A rate limit block (internal/throttle) changes nothing cached
		// here; a guesser must not be able to empty every cache with it.
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	switch ev.Kind {
	case store.EventCard:
		if c.cards != nil {
			c.cards.Remove(ev.ID)
		}
	case store.EventMember:
		for id := range c.byMember[ev.ID] {
			c.cards.Remove(id) // unindex edits the set; ranging over a map while deleting is allowed
		}
	case store.EventMembers:
		c.purgeCards()
	case store.EventPerk, store.EventPartner:
		delete(c.perks, ev.ID)
	case store.EventSigningKey, store.EventAPIKey:
		// Cards and perks do not depend on these.
	default: // reset, or a kind this version does not know
		c.purgeCards()
		c.perks = map[string][]model.Perk{}
	}
}

func (c *cache) purgeCards() {
	if c.cards != nil {
		c.cards.Purge()
	}
	c.byMember = map[string]map[string]struct{}{}
}

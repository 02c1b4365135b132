package verify

import (
	"sync"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// recentScansKept bounds the valid card scans remembered for the
// redemption that follows them: 16,384 entries of about 250 bytes (4 MB),
// which is a second of scans at the benchmark's peak and hours at a real
// programme's rate. A scan forgotten is only a redemption decided from the
// database instead.
const recentScansKept = 16384

// recentScans remembers the valid member-card scans this process answered
// last, by verification id, oldest out first. A scan's facts never change
// once it is recorded (the log is append-only); what can change — the
// card, the member, the perks — is not copied here but read from the
// verifier's cache, which every change notice keeps current.
type recentScans struct {
	mu   sync.Mutex
	byID map[string]recentScan
	ring []string // verification ids in the order they were added
	next int
}

type recentScan struct {
	at         time.Time
	partnerID  string
	cardID     string
	memberID   string
	companions int // signed into the card, fixed for its life
}

func newRecentScans(n int) *recentScans {
	return &recentScans{byID: make(map[string]recentScan, n), ring: make([]string, n)}
}

func (r *recentScans) add(id string, s recentScan) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.ring[r.next]; old != "" {
		delete(r.byID, old)
	}
	r.ring[r.next] = id
	r.byID[id] = s
	r.next = (r.next + 1) % len(r.ring)
}

func (r *recentScans) get(id string) (recentScan, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.byID[id]
	return s, ok
}

// RecentRedemptionFacts answers, from memory, what a redemption of perkID
// after the scan verificationID decides on, when this process answered
// that scan as valid for a member's card a moment ago, the change feed is
// healthy, and the card and the partner's active perks are in the cache
// (so no change notice has removed them since). ok is false otherwise:
// the caller then reads the facts from the database. Prev (an earlier
// redemption with the same idempotency key) is not known here; the insert
// finds it by its unique key. The redemption's insert re-checks the card,
// the member and the perk as it writes, as it does after a database read.
func (v *Verifier) RecentRedemptionFacts(verificationID, perkID string) (f *store.RedemptionFacts, ok bool) {
	if !v.events.Healthy() {
		return nil, false
	}
	s, ok := v.recent.get(verificationID)
	if !ok {
		return nil, false
	}
	e, ok, _ := v.cache.card(s.cardID)
	if !ok {
		return nil, false
	}
	perks, ok, _ := v.cache.partnerPerks(s.partnerID)
	if !ok {
		return nil, false
	}
	var perk *model.Perk
	for i := range perks {
		if perks[i].ID == perkID {
			pk := perks[i]
			perk = &pk
			break
		}
	}
	if perk == nil {
		return nil, false
	}
	cardID, memberID := s.cardID, s.memberID
	return &store.RedemptionFacts{
		Verification: &model.Verification{ID: verificationID, At: s.at, PartnerID: s.partnerID, Result: model.ResultValid,
			CardID: &cardID, MemberID: &memberID},
		Perk:   perk,
		Member: &model.Member{ID: e.state.MemberID, Tier: e.state.Tier, Status: model.MemberStatus(e.state.MemberStatus)},
		Card:   &model.Card{ID: e.state.CardID, Status: e.state.CardStatus, Companions: s.companions},
	}, true
}

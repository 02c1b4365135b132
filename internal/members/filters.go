package members

import (
	"time"

	"github.com/alumnipass/alumnipass/internal/store"
)

// MemberFilter selects a page of members (List).
type MemberFilter struct {
	Query  string // name, kana, employee number or e-mail; partial, folded like the stored search key
	Status string
	Tier   string
	After  string // cursor: the last employee number of the previous page
	Limit  int
}

// AuditFilter selects audit entries (Audit), newest first.
type AuditFilter struct {
	ActorID    string
	TargetType string
	TargetID   string
	Action     string
	Since      time.Time
	Until      time.Time
	Before     string // cursor: entries with id below this, by time then id
	Limit      int
}

// RedemptionRow is one perk use of a member (Redemptions).
type RedemptionRow struct {
	At        time.Time `json:"at"`
	VenueName string    `json:"venue"`
	PerkTitle string    `json:"perk"`
	PartySize int       `json:"party_size"`
	MemberID  string    `json:"member_id"`
	Guest     bool      `json:"guest"`
}

// The store's own types stay at the store's door: these converters are the
// one place they meet the package's (a field added on one side and not the
// other no longer compiles).

func storeMemberFilter(f MemberFilter) store.MemberFilter { return store.MemberFilter(f) }

func storeAuditFilter(f AuditFilter) store.AuditFilter { return store.AuditFilter(f) }

func redemptionRows(rs []store.PartnerRedemptionRow) []RedemptionRow {
	out := make([]RedemptionRow, len(rs))
	for i, r := range rs {
		out[i] = RedemptionRow(r)
	}
	return out
}

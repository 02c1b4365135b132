package members

import "github.com/alumnipass/alumnipass/internal/store"

// The filters of List and Audit and the rows of Redemptions, named here so that callers (the web
// surfaces) need not import the store. They are aliases for now (issue 18,
// first step); the store is still where they are defined.
type (
	// MemberFilter selects a page of members: a search, a status, a tier,
	// a cursor and a page size.
	MemberFilter = store.MemberFilter
	// AuditFilter selects audit entries: actor, target, action, a time
	// range, a cursor and a page size.
	AuditFilter = store.AuditFilter
	// RedemptionRow is one perk use of a member (Redemptions).
	RedemptionRow = store.PartnerRedemptionRow
)

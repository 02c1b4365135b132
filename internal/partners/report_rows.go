package partners

import "github.com/alumnipass/alumnipass/internal/store"

// ReportRow is one line of Summary (redemptions by month, partner and
// perk), named here so that callers (the web surfaces) need not import the
// store. An alias for now (issue 18, first step).
type ReportRow = store.ReportRow

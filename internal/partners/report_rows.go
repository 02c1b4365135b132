package partners

import "github.com/alumnipass/alumnipass/internal/store"

// ReportRow is one line of Summary: redemptions by month (and day),
// partner, venue and perk.
type ReportRow struct {
	Month       string
	Day         string
	PartnerID   string
	PartnerName string
	VenueName   string
	PerkTitle   string
	Count       int
	People      int
}

// reportRows converts the store's rows at its door.
func reportRows(rs []store.ReportRow) []ReportRow {
	out := make([]ReportRow, len(rs))
	for i, r := range rs {
		out[i] = ReportRow(r)
	}
	return out
}

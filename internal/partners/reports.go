package partners

import (
	"context"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
)

// Summary aggregates redemptions by month, partner and perk since a time:
// every partner's for HR (partnerID ""), or one partner's. A partner
// manager only ever gets its own partner's, whatever it asks for.
func (s *Service) Summary(ctx context.Context, p *model.Principal, partnerID string, since time.Time) ([]ReportRow, error) {
	if p.PartnerID != "" {
		if partnerID != "" && partnerID != p.PartnerID {
			return nil, notFound("partner")
		}
		partnerID = p.PartnerID
	}
	rs, err := s.st.RedemptionReport(ctx, partnerID, since)
	if err != nil {
		return nil, err
	}
	return reportRows(rs), nil
}

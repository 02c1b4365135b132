package members

import (
	"context"

	"github.com/alumnipass/alumnipass/internal/model"
)

// GuestPasses lists a member's guest passes, newest first.
func (s *Service) GuestPasses(ctx context.Context, memberID string, limit int) ([]model.GuestPass, error) {
	return s.st.MemberGuestPasses(ctx, memberID, limit)
}

// Redemptions lists a member's redemptions, newest first.
func (s *Service) Redemptions(ctx context.Context, memberID string, limit int) ([]RedemptionRow, error) {
	rs, err := s.st.MemberRedemptions(ctx, memberID, limit)
	if err != nil {
		return nil, err
	}
	return redemptionRows(rs), nil
}

package members

import (
	"context"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// GuestPasses lists a member's guest passes, newest first.
func (s *Service) GuestPasses(ctx context.Context, memberID string, limit int) ([]model.GuestPass, error) {
	return s.st.MemberGuestPasses(ctx, memberID, limit)
}

// Redemptions lists a member's redemptions, newest first.
func (s *Service) Redemptions(ctx context.Context, memberID string, limit int) ([]store.PartnerRedemptionRow, error) {
	return s.st.MemberRedemptions(ctx, memberID, limit)
}

package members

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// What the HR console shows beside the API: counts, tiers, a member's guest
// passes and redemptions, and the enrolment letter and e-mail, which need
// the one-time enrolment token checked again.

// Counts returns the number of members by status.
func (s *Service) Counts(ctx context.Context) (map[string]int, error) {
	return s.st.CountMembers(ctx)
}

// Tiers lists the tiers members have.
func (s *Service) Tiers(ctx context.Context) ([]string, error) {
	return s.st.MemberTiers(ctx)
}

// GuestPasses lists a member's guest passes, newest first.
func (s *Service) GuestPasses(ctx context.Context, memberID string, limit int) ([]model.GuestPass, error) {
	return s.st.MemberGuestPasses(ctx, memberID, limit)
}

// Redemptions lists a member's redemptions, newest first.
func (s *Service) Redemptions(ctx context.Context, memberID string, limit int) ([]store.PartnerRedemptionRow, error) {
	return s.st.MemberRedemptions(ctx, memberID, limit)
}

// PendingEnrollment checks that an enrolment token HR holds is the member's
// current, unused, unexpired one, and returns the member and the card. The
// console calls it before printing a letter or sending the link by e-mail,
// so a token can only ever be sent to its own member.
func (s *Service) PendingEnrollment(ctx context.Context, memberID, token string) (*model.Member, *model.Card, error) {
	bad := model.NewProblem(model.ErrNotFound, "enrollment_not_found", "This enrolment link is no longer valid; issue the card again.")
	if !strings.HasPrefix(token, auth.PrefixEnroll) || len(token) > 100 {
		return nil, nil, bad
	}
	card, err := s.st.CardByEnrollToken(ctx, auth.HashToken(token))
	if errors.Is(err, model.ErrNotFound) {
		return nil, nil, bad
	}
	if err != nil {
		return nil, nil, err
	}
	if card.MemberID != memberID || card.Status != model.CardActive || card.EnrolledAt != nil || !s.now().Before(card.EnrollExpiresAt) {
		return nil, nil, bad
	}
	m, err := s.st.Member(ctx, memberID)
	if err != nil {
		return nil, nil, err
	}
	if m.Status != model.MemberActive {
		return nil, nil, bad
	}
	return m, card, nil
}

// RecordEnrollmentSent audits that the enrolment link went to the member
// (by e-mail through SMTP, or into the outbox folder).
func (s *Service) RecordEnrollmentSent(ctx context.Context, p *model.Principal, memberID, cardID, to, via string) error {
	after := model.JSON(map[string]string{"card_id": cardID, "to": to, "via": via})
	if err := s.st.InsertAudit(ctx, p.Audit(newID(), s.now(), "card.enrollment_sent", "member", memberID, "", after)); err != nil {
		return fmt.Errorf("record enrolment sent: %w", err)
	}
	return nil
}

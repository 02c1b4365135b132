package members

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/model"
)

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

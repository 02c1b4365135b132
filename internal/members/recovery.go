package members

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/model"
)

// RecoveryLife is how long a lost-phone link may be used.
const RecoveryLife = time.Hour

// PrefixRecovery marks a lost-phone link's token.
const PrefixRecovery = "apr_"

// RecoveryMail is a lost-phone link to send to one member.
type RecoveryMail struct {
	Member *model.Member
	Token  string // for the link; only its hash is kept
}

// RequestRecovery starts the lost-phone path for an e-mail address: each
// active member with that address gets a single-use link, valid for an
// hour, that replaces their card. Nothing is replaced yet, so someone who
// merely knows the address can do no harm. An unknown or malformed address
// gives no mail and no error: the answer must not tell whether it is known.
func (s *Service) RequestRecovery(ctx context.Context, email string) ([]RecoveryMail, error) {
	addr, ok := model.NormalizeEmail(email)
	if !ok {
		return nil, nil
	}
	ms, err := s.st.ActiveMembersByEmail(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("recovery: %w", err)
	}
	now := s.now()
	out := make([]RecoveryMail, 0, len(ms))
	for i := range ms {
		tok, hash, err := auth.NewToken(PrefixRecovery)
		if err != nil {
			return nil, err
		}
		if err := s.st.CreateRecoveryToken(ctx, hash, ms[i].ID, now, now.Add(RecoveryLife)); err != nil {
			return nil, fmt.Errorf("recovery: %w", err)
		}
		out = append(out, RecoveryMail{Member: &ms[i], Token: tok})
	}
	return out, nil
}

// RecoveryLinkLive reports whether a lost-phone link may still be used.
func (s *Service) RecoveryLinkLive(ctx context.Context, token string) (bool, error) {
	if len(token) < 10 || len(token) > 100 {
		return false, nil
	}
	return s.st.RecoveryTokenLive(ctx, auth.HashToken(token), s.now())
}

// Recover uses a lost-phone link once: the member's card is re-issued (the
// old card and its wallet stop at once, on every instance) and the new
// card's enrolment link is returned, to be opened on the new phone. The
// change is audited as the member's own.
func (s *Service) Recover(ctx context.Context, token string) (*IssuedCard, error) {
	gone := model.NewProblem(model.ErrNotFound, "recovery_link_invalid", "This link has been used or has expired. Ask for a new one.")
	if len(token) < 10 || len(token) > 100 {
		return nil, gone
	}
	memberID, err := s.st.TakeRecoveryToken(ctx, auth.HashToken(token), s.now())
	if errors.Is(err, model.ErrNotFound) {
		return nil, gone
	}
	if err != nil {
		return nil, fmt.Errorf("recover: %w", err)
	}
	self := &model.Principal{Kind: "member", ID: memberID, Name: "self-service recovery (lost phone)", Role: "member"}
	return s.IssueCard(ctx, self, memberID)
}

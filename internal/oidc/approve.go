package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/model"
)

// Pending is what the consent screen shows about a sign-in.
type Pending struct {
	ID          string
	PartnerName string
	ClientName  string
	LogoURL     string
	// WantsProfile / WantsEmail: the client asked for the profile or email
	// scope; they are shared only if the member ticks the box.
	WantsProfile bool
	WantsEmail   bool
	// RedirectOrigin is the partner's origin the approval returns to (the
	// consent page allows its form to end there).
	RedirectOrigin string
	// UserCode is the code of a sign-in finished on another device (the
	// phone shows it for the member to compare), "" otherwise.
	UserCode string
}

func requestGone() error {
	return model.NewProblem(model.ErrNotFound, "sign_in_not_found", "This sign-in has expired or was already answered. Start again on the partner's site.")
}

// Pending returns a sign-in waiting for the member's answer.
func (p *Provider) Pending(ctx context.Context, id string) (*Pending, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, requestGone()
	}
	r, err := p.st.OIDCAuthRequest(ctx, id)
	if errors.Is(err, model.ErrNotFound) {
		return nil, requestGone()
	}
	if err != nil {
		return nil, err
	}
	if r.MemberID != nil || !p.now().Before(r.ExpiresAt) {
		return nil, requestGone()
	}
	c, err := p.st.OIDCClient(ctx, r.ClientID)
	if err != nil {
		return nil, err
	}
	if c.RevokedAt != nil || c.PartnerDeactivatedAt != nil {
		return nil, requestGone()
	}
	scopes := strings.Fields(r.Scopes)
	origin := ""
	if u, err := url.Parse(r.RedirectURI); err == nil {
		origin = u.Scheme + "://" + u.Host
	}
	pend := &Pending{ID: r.ID, PartnerName: c.PartnerName, ClientName: c.Name, LogoURL: c.LogoURL, RedirectOrigin: origin,
		WantsProfile: slices.Contains(scopes, "profile"), WantsEmail: slices.Contains(scopes, "email")}
	if r.UserCode != nil {
		pend.UserCode = *r.UserCode
	}
	return pend, nil
}

// NotEligibleCode is the problem code of an approval by a member who is
// not active (revoked or suspended).
const NotEligibleCode = "member_not_active"

func notEligible() error {
	return model.NewProblem(model.ErrForbidden, NotEligibleCode, "This membership is not active, so it cannot be used to sign in.")
}

// Approve records the member's approval of a pending sign-in and returns
// the URL that completes it (the provider's callback, which redirects to
// the partner with the code). A member who is not active is refused.
func (p *Provider) Approve(ctx context.Context, id, memberID string, shareProfile bool) (string, error) {
	pend, err := p.Pending(ctx, id)
	if err != nil {
		return "", err
	}
	m, err := p.st.Member(ctx, memberID)
	if err != nil {
		return "", err
	}
	if m.Status != model.MemberActive {
		return "", notEligible()
	}
	r, err := p.st.OIDCAuthRequest(ctx, pend.ID)
	if err != nil {
		return "", err
	}
	c, err := p.st.OIDCClient(ctx, r.ClientID)
	if err != nil {
		return "", err
	}
	now := p.now()
	if err := p.st.ApproveOIDCAuthRequest(ctx, r.ID, memberID, p.pseudo.Pseudonym(memberID, c.PartnerID), shareProfile, now); err != nil {
		if errors.Is(err, model.ErrConflict) {
			return "", requestGone()
		}
		return "", err
	}
	if err := p.st.SaveOIDCConsent(ctx, memberID, c.ID, shareProfile, now); err != nil {
		return "", err
	}
	return p.callbackURL(ctx, r.ID), nil
}

// Deny answers a sign-in with access_denied: the URL sends the browser back
// to the partner's registered redirect URI.
func (p *Provider) Deny(ctx context.Context, id string) (string, error) {
	if _, err := p.Pending(ctx, id); err != nil {
		return "", err
	}
	r, err := p.st.OIDCAuthRequest(ctx, id)
	if err != nil {
		return "", err
	}
	// Expire it, so that it cannot be approved afterwards.
	if err := p.st.ExpireOIDCAuthRequest(ctx, r.ID, p.now()); err != nil {
		return "", err
	}
	u, err := url.Parse(r.RedirectURI)
	if err != nil {
		return "", fmt.Errorf("redirect uri: %w", err)
	}
	q := u.Query()
	q.Set("error", "access_denied")
	q.Set("error_description", "The member declined.")
	if r.State != "" {
		q.Set("state", r.State)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

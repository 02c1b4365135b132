package oidc

import (
	"context"
	"slices"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// Perk is one perk in the `perks` claim.
type Perk struct {
	ID         string `json:"id"`
	Title      string `json:"title"`
	TitleEn    string `json:"title_en,omitempty"`
	Companions int    `json:"companions"`
}

// claims fills what a client may learn, read now: the pairwise sub, and
// with the alumnipass scope eligibility, tier, companions and the perks
// that apply at the client's partner; name and e-mail only with the
// member's consent (shareProfile) and the matching scope.
func (p *Provider) claims(ctx context.Context, u *oidc.UserInfo, memberID string, c *store.OIDCClient, scopes []string, shareProfile bool) error {
	m, err := p.st.Member(ctx, memberID)
	if err != nil {
		return err
	}
	u.Subject = p.pseudo.Pseudonym(memberID, c.PartnerID)
	if slices.Contains(scopes, ScopeAlumnipass) {
		eligible := m.Status == model.MemberActive && c.PartnerDeactivatedAt == nil && c.RevokedAt == nil
		perks := []Perk{}
		companions := 0
		if eligible {
			ps, err := p.st.PartnerPerks(ctx, c.PartnerID, true)
			if err != nil {
				return err
			}
			for _, pk := range ps {
				if !model.TierEligible(pk.EligibleTiers, m.Tier) {
					continue
				}
				perks = append(perks, Perk{ID: pk.ID, Title: pk.Title, TitleEn: pk.TitleEn, Companions: pk.Companions})
				companions = max(companions, pk.Companions)
			}
		}
		u.AppendClaims("eligible", eligible)
		u.AppendClaims("tier", m.Tier)
		u.AppendClaims("companions_allowed", companions)
		u.AppendClaims("perks", perks)
	}
	if shareProfile && slices.Contains(scopes, oidc.ScopeProfile) {
		u.Name = m.FamilyName + " " + m.GivenName
		u.FamilyName, u.GivenName = m.FamilyName, m.GivenName
	}
	if shareProfile && slices.Contains(scopes, oidc.ScopeEmail) {
		u.Email = m.Email
		u.EmailVerified = false // recorded by HR, not verified by a link
	}
	return nil
}

// Grant is who an access token speaks for.
type Grant struct {
	MemberID  string
	PartnerID string
	ClientID  string
}

func invalidToken() error {
	return model.NewProblem(model.ErrUnauthorized, "invalid_token", "The access token is unknown, expired or revoked, or the membership is not active.")
}

// Grant checks an access token presented to alumnipass's own API (online
// redemptions): it answers now (not expired or revoked, its client not
// revoked, the member active) and carries the alumnipass scope.
func (p *Provider) Grant(ctx context.Context, accessToken string) (*Grant, error) {
	plain, err := p.op.Crypto().Decrypt(accessToken)
	if err != nil {
		return nil, invalidToken()
	}
	tokenID, _, ok := strings.Cut(plain, ":")
	if !ok {
		return nil, invalidToken()
	}
	s := &storage{p: p}
	t, c, err := s.activeToken(ctx, tokenID)
	if err != nil || !slices.Contains(strings.Fields(t.Scopes), ScopeAlumnipass) {
		return nil, invalidToken()
	}
	m, err := p.st.Member(ctx, t.MemberID)
	if err != nil || m.Status != model.MemberActive {
		return nil, invalidToken()
	}
	return &Grant{MemberID: t.MemberID, PartnerID: c.PartnerID, ClientID: c.ID}, nil
}

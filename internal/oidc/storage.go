package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// storage is the library's op.Storage over the store.
type storage struct{ p *Provider }

var _ op.Storage = (*storage)(nil)
var _ op.CanSetUserinfoFromRequest = (*storage)(nil)

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// authRequest adapts a stored request to op.AuthRequest.
type authRequest struct{ r *store.OIDCAuthRequest }

func (a authRequest) GetID() string  { return a.r.ID }
func (a authRequest) GetACR() string { return "" }

// GetAMR: the member proved possession of the enrolled wallet (a software key).
func (a authRequest) GetAMR() []string                   { return []string{"swk"} }
func (a authRequest) GetAudience() []string              { return []string{a.r.ClientID} }
func (a authRequest) GetClientID() string                { return a.r.ClientID }
func (a authRequest) GetNonce() string                   { return a.r.Nonce }
func (a authRequest) GetRedirectURI() string             { return a.r.RedirectURI }
func (a authRequest) GetState() string                   { return a.r.State }
func (a authRequest) GetSubject() string                 { return a.r.Subject }
func (a authRequest) Done() bool                         { return a.r.MemberID != nil }
func (a authRequest) GetScopes() []string                { return strings.Fields(a.r.Scopes) }
func (a authRequest) GetResponseType() oidc.ResponseType { return oidc.ResponseTypeCode }
func (a authRequest) GetResponseMode() oidc.ResponseMode {
	return oidc.ResponseMode(a.r.ResponseMode)
}
func (a authRequest) GetAuthTime() time.Time {
	if a.r.AuthTime == nil {
		return time.Time{}
	}
	return *a.r.AuthTime
}
func (a authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	return &oidc.CodeChallenge{Challenge: a.r.CodeChallenge, Method: oidc.CodeChallengeMethod(a.r.CodeChallengeMethod)}
}

// client adapts a registered partner website to op.Client: a confidential
// web client, code flow only, exact redirect URIs, PKCE required.
type client struct {
	c     *store.OIDCClient
	login func(string) string
}

func (c client) GetID() string                       { return c.c.ID }
func (c client) RedirectURIs() []string              { return strings.Fields(c.c.RedirectURIs) }
func (c client) PostLogoutRedirectURIs() []string    { return nil }
func (c client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c client) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodBasic }
func (c client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c client) GrantTypes() []oidc.GrantType         { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c client) LoginURL(id string) string            { return c.login(id) }
func (c client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c client) IDTokenLifetime() time.Duration       { return 10 * time.Minute }
func (c client) DevMode() bool                        { return false }
func (c client) ClockSkew() time.Duration             { return 0 }
func (c client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c client) IsScopeAllowed(scope string) bool { return scope == ScopeAlumnipass }

// errNotFound is a plain error the library answers as a client error.
var errNotFound = errors.New("not found")

func (s *storage) loadClient(ctx context.Context, id string) (*store.OIDCClient, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, errNotFound
	}
	c, err := s.p.st.OIDCClient(ctx, id)
	if errors.Is(err, model.ErrNotFound) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	if c.RevokedAt != nil || c.PartnerDeactivatedAt != nil {
		return nil, errNotFound
	}
	return c, nil
}

// CreateAuthRequest stores a new sign-in; PKCE with S256 is required of
// every client (RFC 9700 §2.1.1), and only the code flow is offered.
func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE is required: code_challenge with code_challenge_method=S256")
	}
	if req.ResponseType != oidc.ResponseTypeCode {
		return nil, oidc.ErrInvalidRequest().WithDescription("only response_type=code")
	}
	now := s.p.now()
	r := &store.OIDCAuthRequest{ID: uuid.Must(uuid.NewV7()).String(), ClientID: req.ClientID, RedirectURI: req.RedirectURI,
		Scopes: strings.Join(req.Scopes, " "), State: req.State, Nonce: req.Nonce, ResponseMode: string(req.ResponseMode),
		CodeChallenge: req.CodeChallenge, CodeChallengeMethod: string(req.CodeChallengeMethod),
		CreatedAt: now, ExpiresAt: now.Add(s.p.opts.RequestTTL)}
	if err := s.p.st.CreateOIDCAuthRequest(ctx, r); err != nil {
		return nil, err
	}
	return authRequest{r}, nil
}

// AuthRequestByID returns a request that has not expired.
func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, errNotFound
	}
	r, err := s.p.st.OIDCAuthRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	if !s.p.now().Before(r.ExpiresAt) || r.CodeUsedAt != nil {
		return nil, errors.New("auth request expired")
	}
	return authRequest{r}, nil
}

// AuthRequestByCode consumes the code: it answers once (a second use
// revokes what the first one got).
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	r, err := s.p.st.ConsumeOIDCCode(ctx, hashOf(code), s.p.now())
	if err != nil {
		return nil, err
	}
	return authRequest{r}, nil
}

// SaveAuthCode keeps the code's hash only.
func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	return s.p.st.SetOIDCCode(ctx, id, hashOf(code))
}

// DeleteAuthRequest keeps the row: a used code must stay known until the
// request expires, so that a second use is recognised (and revokes).
func (s *storage) DeleteAuthRequest(context.Context, string) error { return nil }

// CreateAccessToken issues an opaque access token: the library encrypts
// "<id>:<sub>" into the token; the store keeps the id's hash, the member
// and the expiry.
func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	a, ok := req.(authRequest)
	if !ok || a.r.MemberID == nil {
		return "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", time.Time{}, fmt.Errorf("token id: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(b)
	now := s.p.now()
	t := &store.OIDCAccessToken{IDHash: hashOf(id), AuthRequestID: a.r.ID, ClientID: a.r.ClientID, MemberID: *a.r.MemberID,
		Subject: a.r.Subject, Scopes: a.r.Scopes, ShareProfile: a.r.ShareProfile, CreatedAt: now, ExpiresAt: now.Add(s.p.opts.AccessTokenTTL)}
	if err := s.p.st.CreateOIDCAccessToken(ctx, t); err != nil {
		return "", time.Time{}, err
	}
	return id, t.ExpiresAt, nil
}

// CreateAccessAndRefreshTokens: no refresh tokens are issued (a partner
// asks again; the member's approval is one tap).
func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
}

// TokenRequestByRefreshToken: no refresh tokens.
func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, op.ErrInvalidRefreshToken
}

// TerminateSession: the wallet is the session; there is nothing to end here.
func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

// RevokeToken revokes one of the client's access tokens.
func (s *storage) RevokeToken(ctx context.Context, tokenID, _, clientID string) *oidc.Error {
	if err := s.p.st.RevokeOIDCAccessToken(ctx, hashOf(tokenID), clientID, s.p.now()); err != nil {
		return oidc.ErrServerError()
	}
	return nil
}

// GetRefreshTokenInfo: no refresh tokens.
func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// SigningKey is the active token signing key.
func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	return s.p.keys.signing(ctx)
}

// SignatureAlgorithms: RS256.
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

// KeySet is the JWKS.
func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) { return s.p.keys.public(ctx) }

// GetClientByClientID returns a client that is not revoked.
func (s *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.loadClient(ctx, id)
	if err != nil {
		return nil, err
	}
	return client{c: c, login: s.p.loginURL}, nil
}

// AuthorizeClientIDSecret compares the secret's hash in constant time.
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	c, err := s.loadClient(ctx, id)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(hashOf(secret)), []byte(c.SecretHash)) != 1 {
		return errors.New("wrong client secret")
	}
	return nil
}

// SetUserinfoFromScopes is deprecated in the library; SetUserinfoFromRequest does the work.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's claims.
func (s *storage) SetUserinfoFromRequest(ctx context.Context, u *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	a, ok := req.(authRequest)
	if !ok || a.r.MemberID == nil {
		return errors.New("unknown request")
	}
	c, err := s.p.st.OIDCClient(ctx, a.r.ClientID)
	if err != nil {
		return err
	}
	return s.p.claims(ctx, u, *a.r.MemberID, c, scopes, a.r.ShareProfile)
}

// activeToken loads an access token that answers now: not expired, not
// revoked, its client not revoked, its member active.
func (s *storage) activeToken(ctx context.Context, tokenID string) (*store.OIDCAccessToken, *store.OIDCClient, error) {
	t, err := s.p.st.OIDCAccessToken(ctx, hashOf(tokenID))
	if err != nil {
		return nil, nil, errors.New("unknown token")
	}
	if t.RevokedAt != nil || !s.p.now().Before(t.ExpiresAt) {
		return nil, nil, errors.New("token expired or revoked")
	}
	c, err := s.loadClient(ctx, t.ClientID)
	if err != nil {
		return nil, nil, errors.New("client revoked")
	}
	return t, c, nil
}

// SetUserinfoFromToken answers /oidc/userinfo from the member's current
// state: a revoked or suspended member's token no longer answers.
func (s *storage) SetUserinfoFromToken(ctx context.Context, u *oidc.UserInfo, tokenID, _, _ string) error {
	t, c, err := s.activeToken(ctx, tokenID)
	if err != nil {
		return err
	}
	m, err := s.p.st.Member(ctx, t.MemberID)
	if err != nil || m.Status != model.MemberActive {
		return errors.New("member not active")
	}
	return s.p.claims(ctx, u, t.MemberID, c, strings.Fields(t.Scopes), t.ShareProfile)
}

// SetIntrospectionFromToken answers /oidc/introspect for the token's own
// client only, from current state: a revoked member's token is inactive.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, r *oidc.IntrospectionResponse, tokenID, _, clientID string) error {
	t, c, err := s.activeToken(ctx, tokenID)
	if err != nil || t.ClientID != clientID {
		return errors.New("token inactive")
	}
	m, err := s.p.st.Member(ctx, t.MemberID)
	if err != nil || m.Status != model.MemberActive {
		return errors.New("member not active")
	}
	var u oidc.UserInfo
	if err := s.p.claims(ctx, &u, t.MemberID, c, strings.Fields(t.Scopes), t.ShareProfile); err != nil {
		return err
	}
	r.SetUserInfo(&u)
	r.Active = true
	r.Scope = strings.Fields(t.Scopes)
	r.ClientID = t.ClientID
	r.TokenType = oidc.BearerToken
	r.Expiration = oidc.FromTime(t.ExpiresAt)
	r.IssuedAt = oidc.FromTime(t.CreatedAt)
	r.Audience = []string{t.ClientID}
	r.Issuer = s.p.issuer
	return nil
}

// GetPrivateClaimsFromScopes: access tokens are opaque; nothing to add.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID: no JWT client authentication.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errNotFound
}

// ValidateJWTProfileScopes: no JWT profile grant.
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnsupportedGrantType()
}

// Health is the database's.
func (s *storage) Health(ctx context.Context) error { return s.p.st.Ping(ctx) }

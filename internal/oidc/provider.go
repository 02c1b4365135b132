// Package oidc is alumnipass's OpenID Provider ("Verify with alumnipass",
// docs/online-perks.md): partner websites sign a member in with the
// authorization code flow and PKCE, built on zitadel/oidc's op package
// (discovery, JWKS, token, userinfo, introspection, revocation) over the
// store. The member approves on the wallet; the partner learns a pairwise
// `sub` (the member's pseudonym at that partner), eligibility, tier,
// companions and the perks that apply there, and a name or e-mail only when
// the member ticks the box on the consent screen. userinfo and introspection
// read the member's current status, so a revoked member stops at once.
package oidc

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/alumnipass/alumnipass/internal/seal"
)

// Path is where the provider is mounted; the issuer is the base URL + Path.
const Path = "/oidc"

// Scope of the alumnipass claims (eligible, tier, companions_allowed, perks).
const ScopeAlumnipass = "alumnipass"

// Options are the provider's settings.
type Options struct {
	// BaseURL is the service's public base URL (ALUMNIPASS_BASE_URL).
	BaseURL string
	// CryptoKey encrypts the opaque access tokens and codes; cmd derives it
	// from the master key so that every instance shares it.
	CryptoKey [32]byte
	// AccessTokenTTL is how long an access token answers (default 10 min).
	AccessTokenTTL time.Duration
	// RequestTTL is how long a sign-in may wait for approval and its code
	// for exchange (default 5 min).
	RequestTTL time.Duration
}

// Provider is the OpenID Provider.
type Provider struct {
	st      Storer
	pseudo  Pseudonyms
	now     func() time.Time
	keys    *keySet
	opts    Options
	issuer  string
	op      *op.Provider
	handler http.Handler
}

// New makes the provider, creating its first signing key on first start.
func New(ctx context.Context, st Storer, sealer *seal.Sealer, pseudo Pseudonyms, now func() time.Time, opts Options) (*Provider, error) {
	if opts.AccessTokenTTL <= 0 {
		opts.AccessTokenTTL = 10 * time.Minute
	}
	if opts.RequestTTL <= 0 {
		opts.RequestTTL = 5 * time.Minute
	}
	p := &Provider{st: st, pseudo: pseudo, now: now, opts: opts, issuer: strings.TrimRight(opts.BaseURL, "/") + Path,
		keys: &keySet{st: st, sealer: sealer, parsed: map[string]*rsa.PrivateKey{}}}
	if err := p.keys.ensure(ctx, now); err != nil {
		return nil, fmt.Errorf("oidc signing key: %w", err)
	}
	if _, err := p.keys.signing(ctx); err != nil {
		return nil, fmt.Errorf("the OpenID token signing key cannot be opened (is ALUMNIPASS_MASTER_KEY the one it was sealed with? see `keys rewrap`): %w", err)
	}
	cfg := &op.Config{
		CryptoKey:                opts.CryptoKey,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		SupportedUILocales:       []language.Tag{language.Japanese, language.English},
		SupportedScopes:          []string{"openid", "profile", "email", ScopeAlumnipass},
		SupportedClaims:          []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "amr", "name", "family_name", "given_name", "email", "email_verified", "eligible", "tier", "companions_allowed", "perks"},
		DefaultLogoutRedirectURI: strings.TrimRight(opts.BaseURL, "/") + "/",
	}
	var o []op.Option
	if strings.HasPrefix(p.issuer, "http://") {
		o = append(o, op.WithAllowInsecure())
	}
	prov, err := op.NewProvider(cfg, &storage{p: p}, op.StaticIssuer(p.issuer), o...)
	if err != nil {
		return nil, fmt.Errorf("oidc provider: %w", err)
	}
	p.op = prov
	p.handler = http.StripPrefix(Path, p.discovery(prov))
	// Fiber's adaptor gives the request fasthttp's RequestCtx as its
	// context, whose Done races with the server's shutdown; the library's
	// storage calls run on a context that keeps the values without it.
	h := p.handler
	p.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithoutCancel(r.Context())))
	})
	return p, nil
}

// Issuer is the issuer URL.
func (p *Provider) Issuer() string { return p.issuer }

// Handler serves every /oidc/… protocol route (the path keeps its /oidc).
func (p *Provider) Handler() http.Handler { return p.handler }

// discovery answers the discovery document itself: the library's says
// "public" subjects, and alumnipass's are pairwise.
func (p *Provider) discovery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			next.ServeHTTP(w, r)
			return
		}
		ctx := op.ContextWithIssuer(r.Context(), p.issuer)
		d := op.CreateDiscoveryConfig(ctx, p.op, &storage{p: p})
		d.SubjectTypesSupported = []string{"pairwise"}
		d.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
		d.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode}
		d.CodeChallengeMethodsSupported = []oidc.CodeChallengeMethod{oidc.CodeChallengeMethodS256}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_ = json.NewEncoder(w).Encode(d)
	})
}

// loginURL is the page a sign-in is sent to: the consent screen.
func (p *Provider) loginURL(id string) string { return Path + "/approve?id=" + id }

// callbackURL is where an approved request goes for its code.
func (p *Provider) callbackURL(ctx context.Context, id string) string {
	return op.AuthCallbackURL(p.op)(op.ContextWithIssuer(ctx, p.issuer), id)
}

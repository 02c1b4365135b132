package oidc

import (
	"context"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// Storer is what the OpenID Provider needs of the database, declared by its
// user; *store.Store satisfies it.
type Storer interface {
	InTx(ctx context.Context, fn func(tx *store.Tx) error) error
	Ping(ctx context.Context) error

	CreateOIDCClient(ctx context.Context, cl *store.OIDCClient) error
	OIDCClient(ctx context.Context, id string) (*store.OIDCClient, error)
	PartnerOIDCClients(ctx context.Context, partnerID string) ([]store.OIDCClient, error)
	Partner(ctx context.Context, id string) (*model.Partner, error)

	OIDCSigningKeys(ctx context.Context) ([]model.SigningKey, error)
	AddOIDCSigningKey(ctx context.Context, k *model.SigningKey) error

	CreateOIDCAuthRequest(ctx context.Context, r *store.OIDCAuthRequest) error
	OIDCAuthRequest(ctx context.Context, id string) (*store.OIDCAuthRequest, error)
	ApproveOIDCAuthRequest(ctx context.Context, id, memberID, subject string, shareProfile bool, now time.Time) error
	ExpireOIDCAuthRequest(ctx context.Context, id string, now time.Time) error
	SetOIDCUserCode(ctx context.Context, id, code, browserHash string, now time.Time) error
	OIDCAuthRequestByUserCode(ctx context.Context, code string) (*store.OIDCAuthRequest, error)
	SetOIDCCode(ctx context.Context, id, codeHash string) error
	ConsumeOIDCCode(ctx context.Context, codeHash string, now time.Time) (*store.OIDCAuthRequest, error)
	CreateOIDCAccessToken(ctx context.Context, t *store.OIDCAccessToken) error
	OIDCAccessToken(ctx context.Context, idHash string) (*store.OIDCAccessToken, error)
	RevokeOIDCAccessToken(ctx context.Context, idHash, clientID string, now time.Time) error
	SaveOIDCConsent(ctx context.Context, memberID, clientID string, shareProfile bool, now time.Time) error

	Member(ctx context.Context, id string) (*model.Member, error)
	PartnerPerks(ctx context.Context, partnerID string, activeOnly bool) ([]model.Perk, error)
}

// Pseudonyms gives a member's stable id at one partner: the pairwise `sub`.
// partners.Service implements it; cmd wires it, so this package does not
// import partners.
type Pseudonyms interface {
	Pseudonym(memberID, partnerID string) string
}

package oidc

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/seal"
)

// rsaBits is the size of the token signing keys: RS256 is what every OIDC
// client library verifies.
const rsaBits = 2048

// keySet holds the provider's token signing keys: the private keys sealed
// at rest under the master key (like the card issuer keys, bound to
// "oidc-key:<kid>"), parsed once per key id.
type keySet struct {
	st     keyStorer
	sealer *seal.Sealer
	mu     sync.Mutex
	parsed map[string]*rsa.PrivateKey // by kid; a kid's key never changes
}

// keyStorer is what the key set reads and writes (the store, or one of its
// transactions).
type keyStorer interface {
	OIDCSigningKeys(ctx context.Context) ([]model.SigningKey, error)
	AddOIDCSigningKey(ctx context.Context, k *model.SigningKey) error
}

// signingKey is the active key, for the library.
type signingKey struct {
	kid string
	key *rsa.PrivateKey
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return k.kid }

// publicKey is a key of the JWKS.
type publicKey struct {
	kid string
	key *rsa.PublicKey
}

func (k publicKey) ID() string                         { return k.kid }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return k.key }

func sealAD(kid string) string { return "oidc-key:" + kid }

// ensure makes the first key when there is none (first start).
func (ks *keySet) ensure(ctx context.Context, now func() time.Time) error {
	keys, err := ks.st.OIDCSigningKeys(ctx)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.Status == model.KeyActive {
			return nil
		}
	}
	_, err = ks.rotate(ctx, now)
	return err
}

// rotate adds a new active key; the previous one stays in the JWKS
// (verify-only) so tokens it signed still verify.
func (ks *keySet) rotate(ctx context.Context, now func() time.Time) (string, error) {
	priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return "", fmt.Errorf("oidc key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return "", fmt.Errorf("oidc key: %w", err)
	}
	sum := sha256.Sum256(pub)
	kid := "oidc-" + base64.RawURLEncoding.EncodeToString(sum[:9])
	enc, err := ks.sealer.Seal(x509.MarshalPKCS1PrivateKey(priv), sealAD(kid))
	if err != nil {
		return "", err
	}
	return kid, ks.st.AddOIDCSigningKey(ctx, &model.SigningKey{KeyID: kid, PublicKey: pub, PrivateKeyEnc: enc,
		Status: model.KeyActive, CreatedAt: now()})
}

func (ks *keySet) private(k model.SigningKey) (*rsa.PrivateKey, error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if p, ok := ks.parsed[k.KeyID]; ok {
		return p, nil
	}
	der, err := ks.sealer.Open(k.PrivateKeyEnc, sealAD(k.KeyID))
	if err != nil {
		return nil, err
	}
	p, err := x509.ParsePKCS1PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("oidc key %s: %w", k.KeyID, err)
	}
	ks.parsed[k.KeyID] = p
	return p, nil
}

// signing returns the active key.
func (ks *keySet) signing(ctx context.Context) (op.SigningKey, error) {
	keys, err := ks.st.OIDCSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.Status == model.KeyActive {
			p, err := ks.private(k)
			if err != nil {
				return nil, err
			}
			return signingKey{kid: k.KeyID, key: p}, nil
		}
	}
	return nil, errors.New("oidc: no active signing key")
}

// public lists the keys that verify: the active one and the verify-only ones.
func (ks *keySet) public(ctx context.Context) ([]op.Key, error) {
	keys, err := ks.st.OIDCSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	var out []op.Key
	for _, k := range keys {
		if k.Status == model.KeyRetired {
			continue
		}
		pub, err := x509.ParsePKIXPublicKey(k.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("oidc key %s: %w", k.KeyID, err)
		}
		rp, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("oidc key %s is not RSA", k.KeyID)
		}
		out = append(out, publicKey{kid: k.KeyID, key: rp})
	}
	return out, nil
}

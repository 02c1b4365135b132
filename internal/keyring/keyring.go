// Package keyring holds the issuer's Ed25519 signing keys in memory,
// decrypted from the database: one active key signs, older ones keep
// verifying until retired. It reloads when any instance announces a change.
package keyring

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"github.com/alumnipass/alumnipass/internal/credential"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/seal"
	"github.com/alumnipass/alumnipass/internal/store"
)

// Keyring is the set of signing keys.
type Keyring struct {
	st     Storer
	sealer *seal.Sealer
	now    func() time.Time

	mu     sync.RWMutex
	active *key
	byID   map[[8]byte]*key
}

type key struct {
	id     [8]byte
	kid    string
	pub    ed25519.PublicKey
	priv   ed25519.PrivateKey // nil unless active
	status string
	added  time.Time
}

// New loads the keys, creating the first one on an empty database.
func New(ctx context.Context, st Storer, sealer *seal.Sealer, now func() time.Time) (*Keyring, error) {
	k := &Keyring{st: st, sealer: sealer, now: now}
	if err := k.Reload(ctx); err != nil {
		return nil, err
	}
	if k.active == nil {
		if _, err := k.Rotate(ctx, nil); err != nil {
			return nil, err
		}
	}
	st.Events().Subscribe(func(ev store.Event) {
		if ev.Kind == store.EventSigningKey || ev.Kind == store.EventReset {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = k.Reload(ctx) // on failure the old set stays; verification is online-checked anyway
		}
	})
	return k, nil
}

// Reload reads every key from the database.
func (k *Keyring) Reload(ctx context.Context) error {
	rows, err := k.st.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	byID := make(map[[8]byte]*key, len(rows))
	var active *key
	for _, r := range rows {
		id, err := credential.ParseKeyID(r.KeyID)
		if err != nil {
			return fmt.Errorf("signing key %q: %w", r.KeyID, err)
		}
		kk := &key{id: id, kid: r.KeyID, pub: ed25519.PublicKey(r.PublicKey), status: r.Status, added: r.CreatedAt}
		if r.Status == model.KeyActive {
			seed, err := k.sealer.Open(r.PrivateKeyEnc, "signing-key:"+r.KeyID)
			if err != nil {
				return fmt.Errorf("decrypt signing key %s (is ALUMNIPASS_MASTER_KEY right?): %w", r.KeyID, err)
			}
			kk.priv = ed25519.NewKeyFromSeed(seed)
			active = kk
		}
		byID[id] = kk
	}
	k.mu.Lock()
	k.byID, k.active = byID, active
	k.mu.Unlock()
	return nil
}

// Rotate adds a new active key; the previous one becomes verify-only.
// When audit is not nil, the change is recorded by that principal.
func (k *Keyring) Rotate(ctx context.Context, by *model.Principal) (string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("generate signing key: %w", err)
	}
	kid := credential.KeyIDString(credential.KeyIDOf(pub))
	enc, err := k.sealer.Seal(priv.Seed(), "signing-key:"+kid)
	if err != nil {
		return "", err
	}
	now := k.now()
	err = k.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.AddSigningKey(ctx, &model.SigningKey{KeyID: kid, PublicKey: pub, PrivateKeyEnc: enc, Status: model.KeyActive, CreatedAt: now}); err != nil {
			return err
		}
		if by == nil {
			by = &model.Principal{Kind: "system", ID: "system", Name: "alumnipass", Role: model.RoleAdmin}
		}
		return tx.InsertAudit(ctx, by.Audit(newID(), now, "signing_key.rotate", "signing_key", kid, "", model.JSON(map[string]string{"kid": kid})))
	})
	if err != nil {
		return "", fmt.Errorf("rotate signing key: %w", err)
	}
	return kid, k.Reload(ctx)
}

// Retire stops a verify-only key from verifying: codes it signed become
// unknown_key. The active key cannot be retired; rotate first.
func (k *Keyring) Retire(ctx context.Context, kid string, by *model.Principal) error {
	now := k.now()
	err := k.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.RetireSigningKey(ctx, kid, now); err != nil {
			return err
		}
		return tx.InsertAudit(ctx, by.Audit(newID(), now, "signing_key.retire", "signing_key", kid, "", ""))
	})
	if err != nil {
		return fmt.Errorf("retire signing key: %w", err)
	}
	return k.Reload(ctx)
}

// Signer returns the active key's id and private key.
func (k *Keyring) Signer() ([8]byte, string, ed25519.PrivateKey) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.active.id, k.active.kid, k.active.priv
}

// PublicKey returns a verifying key by id; retired and unknown keys are not found.
func (k *Keyring) PublicKey(id [8]byte) (ed25519.PublicKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	kk, ok := k.byID[id]
	if !ok || kk.status == model.KeyRetired {
		return nil, false
	}
	return kk.pub, true
}

// JWK is one public key as RFC 8037 writes it.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
}

// JWKS returns the verifying keys for /.well-known/alumnipass/keys.json.
func (k *Keyring) JWKS() []JWK {
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make([]JWK, 0, len(k.byID))
	for _, kk := range k.byID {
		if kk.status == model.KeyRetired {
			continue
		}
		out = append(out, JWK{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(kk.pub), Kid: kk.kid, Use: "sig", Alg: "EdDSA"})
	}
	return out
}

// KeyInfo describes a key for `alumnipass keys list`.
type KeyInfo struct {
	Kid     string
	Status  string
	Created time.Time
}

// List describes every key, retired ones included.
func (k *Keyring) List(ctx context.Context) ([]KeyInfo, error) {
	rows, err := k.st.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]KeyInfo, len(rows))
	for i, r := range rows {
		out[i] = KeyInfo{Kid: r.KeyID, Status: r.Status, Created: r.CreatedAt}
	}
	return out, nil
}

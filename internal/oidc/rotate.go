package oidc

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/seal"
	"github.com/alumnipass/alumnipass/internal/store"
)

// RotateSigningKey adds a new active token signing key (`alumnipass keys
// rotate-oidc`); the previous one stays in the JWKS, verify-only, so ID
// tokens it signed still verify. Audited.
func RotateSigningKey(ctx context.Context, st Storer, sealer *seal.Sealer, now func() time.Time, p *model.Principal) (string, error) {
	var kid string
	err := st.InTx(ctx, func(tx *store.Tx) error {
		ks := &keySet{st: tx, sealer: sealer, parsed: nil}
		var err error
		if kid, err = ks.rotate(ctx, now); err != nil {
			return err
		}
		return tx.InsertAudit(ctx, p.Audit(uuid.Must(uuid.NewV7()).String(), now(), "oidc_key.rotate", "oidc_key", kid, "", ""))
	})
	if err != nil {
		return "", fmt.Errorf("rotate oidc key: %w", err)
	}
	return kid, nil
}

// RetireSigningKey takes a verify-only token signing key out of the JWKS
// (`alumnipass keys retire-oidc KID`): ID tokens it signed stop verifying,
// which matters for minutes only, as they live AccessTokenTTL. The active
// key cannot be retired. Audited.
func RetireSigningKey(ctx context.Context, st Storer, now func() time.Time, p *model.Principal, kid string) error {
	err := st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.RetireOIDCSigningKey(ctx, kid, now()); err != nil {
			return err
		}
		return tx.InsertAudit(ctx, p.Audit(uuid.Must(uuid.NewV7()).String(), now(), "oidc_key.retire", "oidc_key", kid, "", ""))
	})
	if err != nil {
		return fmt.Errorf("retire oidc key: %w", err)
	}
	return nil
}

// Rewrap re-seals the token signing keys under a new master key (`keys
// rewrap`); it returns how many it changed.
func Rewrap(ctx context.Context, st Storer, old, cur *seal.Sealer) (int, error) {
	n := 0
	err := st.InTx(ctx, func(tx *store.Tx) error {
		keys, err := tx.OIDCSigningKeys(ctx)
		if err != nil {
			return err
		}
		for _, k := range keys {
			plain, err := old.Open(k.PrivateKeyEnc, sealAD(k.KeyID))
			if err != nil {
				if _, curErr := cur.Open(k.PrivateKeyEnc, sealAD(k.KeyID)); curErr == nil {
					continue // already under the new key (a rewrap run twice)
				}
				return fmt.Errorf("oidc key %s: %w", k.KeyID, err)
			}
			enc, err := cur.Seal(plain, sealAD(k.KeyID))
			if err != nil {
				return err
			}
			if err := tx.RewrapOIDCSigningKey(ctx, k.KeyID, enc); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("rewrap oidc keys: %w", err)
	}
	return n, nil
}

package keyring

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/seal"
	"github.com/alumnipass/alumnipass/internal/store"
)

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// Rewrap re-encrypts every secret at rest from the old master key to the
// new one, in one transaction: the signing keys' private halves and every
// card's TOTP secret. Admin TOTP secrets are re-encrypted too.
func Rewrap(ctx context.Context, st *store.Store, old, cur *seal.Sealer) (keys, cards int, err error) {
	err = st.InTx(ctx, func(tx *store.Tx) error {
		sks, err := tx.SigningKeys(ctx)
		if err != nil {
			return err
		}
		for _, k := range sks {
			ad := "signing-key:" + k.KeyID
			pt, err := old.Open(k.PrivateKeyEnc, ad)
			if err != nil {
				if _, err2 := cur.Open(k.PrivateKeyEnc, ad); err2 == nil {
					continue // already under the new key
				}
				return fmt.Errorf("signing key %s: %w", k.KeyID, err)
			}
			enc, err := cur.Seal(pt, ad)
			if err != nil {
				return err
			}
			if err := tx.RewrapSigningKey(ctx, k.KeyID, enc); err != nil {
				return err
			}
			keys++
		}
		secrets, err := tx.CardSecrets(ctx)
		if err != nil {
			return err
		}
		for id, enc := range secrets {
			ad := "card:" + id
			pt, err := old.Open(enc, ad)
			if err != nil {
				if _, err2 := cur.Open(enc, ad); err2 == nil {
					continue
				}
				return fmt.Errorf("card %s: %w", id, err)
			}
			nenc, err := cur.Seal(pt, ad)
			if err != nil {
				return err
			}
			if err := tx.RewrapCardSecret(ctx, id, nenc); err != nil {
				return err
			}
			cards++
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("rewrap: %w", err)
	}
	return keys, cards, nil
}

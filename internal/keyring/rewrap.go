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
// new one, in one transaction: the signing keys' private halves, every
// card's TOTP secret and every console user's TOTP secret. It counts the
// signing keys and card secrets it re-encrypted; a secret already under the
// new key is left alone, so an interrupted rewrap can be run again.
func Rewrap(ctx context.Context, st Storer, old, cur *seal.Sealer) (keys, cards int, err error) {
	err = st.InTx(ctx, func(tx *store.Tx) error {
		sks, err := tx.SigningKeys(ctx)
		if err != nil {
			return err
		}
		signing := make(map[string][]byte, len(sks))
		for _, k := range sks {
			signing[k.KeyID] = k.PrivateKeyEnc
		}
		if keys, err = rewrapEach(signing, "signing-key:", old, cur, func(id string, enc []byte) error {
			return tx.RewrapSigningKey(ctx, id, enc)
		}); err != nil {
			return err
		}
		secrets, err := tx.CardSecrets(ctx)
		if err != nil {
			return err
		}
		if cards, err = rewrapEach(secrets, "card:", old, cur, func(id string, enc []byte) error {
			return tx.RewrapCardSecret(ctx, id, enc)
		}); err != nil {
			return err
		}
		admins, err := tx.AdminTOTPSecrets(ctx)
		if err != nil {
			return err
		}
		_, err = rewrapEach(admins, "admin-totp:", old, cur, func(id string, enc []byte) error {
			return tx.RewrapAdminTOTP(ctx, id, enc)
		})
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("rewrap: %w", err)
	}
	return keys, cards, nil
}

// rewrapEach re-encrypts sealed values by id (bound to adPrefix+id) and
// saves each one; it returns how many it changed.
func rewrapEach(sealed map[string][]byte, adPrefix string, old, cur *seal.Sealer, save func(id string, enc []byte) error) (int, error) {
	n := 0
	for id, enc := range sealed {
		ad := adPrefix + id
		pt, err := old.Open(enc, ad)
		if err != nil {
			if _, err2 := cur.Open(enc, ad); err2 == nil {
				continue // already under the new key
			}
			return n, fmt.Errorf("%s: %w", ad, err)
		}
		nenc, err := cur.Seal(pt, ad)
		if err != nil {
			return n, err
		}
		if err := save(id, nenc); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

package keyring

import (
	"context"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// Storer is what this package needs of the database: the methods it
// calls, declared here by their user (ardanlabs' Storer), so that the
// package depends on behaviour rather than on *store.Store, which
// satisfies it. Calling a new store method means adding it here.
type Storer interface {
	InTx(ctx context.Context, fn func(tx *store.Tx) error) error
	SigningKeys(ctx context.Context) ([]model.SigningKey, error)
	Events() *store.Events
}

package store

import (
	"context"
	"fmt"

	"github.com/alumnipass/alumnipass/internal/model"
)

// CreateVenueKey stores a venue's device key unless the venue already has
// max active (unrevoked) keys, in which case it returns model.ErrLimit. It
// is a method of Tx because the count holds only under the venue's row
// lock, which the transaction keeps until it ends: two issues or pairings
// for one venue at the same moment cannot both take the last place. (On
// SQLite the transaction holds the write lock from the start anyway.)
func (t *Tx) CreateVenueKey(ctx context.Context, k *model.APIKey, max int) error {
	if k.VenueID == nil {
		return fmt.Errorf("venue key without a venue: %w", model.ErrInvalid)
	}
	n, err := t.lockActiveVenueKeys(ctx, *k.VenueID)
	if err != nil {
		return err
	}
	if n >= max {
		return fmt.Errorf("venue %s has %d active keys: %w", *k.VenueID, n, model.ErrLimit)
	}
	return t.CreateAPIKey(ctx, k)
}

// lockActiveVenueKeys locks the venue's row (an update that changes
// nothing takes the same row lock on both databases, where SELECT … FOR
// UPDATE is PostgreSQL's only) and then counts its active keys.
func (t *Tx) lockActiveVenueKeys(ctx context.Context, venueID string) (int, error) {
	const lock = `UPDATE venues SET id = id WHERE id = ?`
	res, err := t.x.ExecContext(ctx, t.q(lock), venueID)
	if err != nil {
		return 0, fmt.Errorf("lock venue: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return 0, fmt.Errorf("venue %s: %w", venueID, model.ErrNotFound)
	}
	return t.ActiveVenueKeys(ctx, venueID)
}

// ActiveVenueKeys counts a venue's device keys that are not revoked.
func (c *Conn) ActiveVenueKeys(ctx context.Context, venueID string) (int, error) {
	const q = `
		SELECT COUNT(*)
		FROM api_keys
		WHERE venue_id = ? AND revoked_at IS NULL`
	var n int
	if err := c.x.GetContext(ctx, &n, c.q(q), venueID); err != nil {
		return 0, fmt.Errorf("count venue keys: %w", mapErr(err))
	}
	return n, nil
}

package store

import (
	"context"
	"fmt"

	"github.com/alumnipass/alumnipass/internal/model"
)

// BindCardDevice binds an active card to the wallet's device key and
// stores the issuer's version 2 signed part, once: a card already bound,
// or no longer active, is ErrConflict. From then on the card accepts only
// version 2 codes, so a copy of the wallet's data (its TOTP secret and
// token) cannot make codes without the device's non-extractable key.
func (c *Conn) BindCardDevice(ctx context.Context, cardID string, deviceKey []byte, signedPartV2 string) error {
	const q = `
		UPDATE cards SET device_key = ?, signed_part_v2 = ?
		WHERE id = ? AND device_key IS NULL AND status = 'active'`
	res, err := c.x.ExecContext(ctx, c.q(q), deviceKey, signedPartV2, cardID)
	if err != nil {
		return fmt.Errorf("bind card device: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("bind card %s: already bound or not active: %w", cardID, model.ErrConflict)
	}
	return c.publish(ctx, EventCard, cardID)
}

// CardDevice is a card's device binding; empty when it has none.
type CardDevice struct {
	DeviceKey    []byte `db:"device_key"`
	SignedPartV2 string `db:"signed_part_v2"`
}

// CardDevice returns a card's device binding.
func (c *Conn) CardDevice(ctx context.Context, cardID string) (*CardDevice, error) {
	const q = `SELECT device_key, COALESCE(signed_part_v2, '') AS signed_part_v2 FROM cards WHERE id = ?`
	var d CardDevice
	if err := c.x.GetContext(ctx, &d, c.q(q), cardID); err != nil {
		return nil, fmt.Errorf("card device: %w", mapErr(err))
	}
	return &d, nil
}

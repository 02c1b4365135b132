package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// OfflineMaxAge is the partner's limit on the age of a scanner's offline
// data in seconds; 0 when the partner has not set one.
func (c *Conn) OfflineMaxAge(ctx context.Context, partnerID string) (int, error) {
	const q = `SELECT offline_max_age_seconds FROM partner_settings WHERE partner_id = ?`
	var secs int
	err := c.x.GetContext(ctx, &secs, c.q(q), partnerID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("offline limit: %w", mapErr(err))
	}
	return secs, nil
}

// SetOfflineMaxAge sets the partner's limit and returns the one it replaces
// (0: none was set).
func (c *Conn) SetOfflineMaxAge(ctx context.Context, partnerID string, secs int) (int, error) {
	before, err := c.OfflineMaxAge(ctx, partnerID)
	if err != nil {
		return 0, err
	}
	const q = `
		INSERT INTO partner_settings (partner_id, offline_max_age_seconds) VALUES (?, ?)
		ON CONFLICT (partner_id) DO UPDATE SET offline_max_age_seconds = excluded.offline_max_age_seconds`
	if _, err := c.x.ExecContext(ctx, c.q(q), partnerID, secs); err != nil {
		return 0, fmt.Errorf("set offline limit: %w", mapErr(err))
	}
	return before, nil
}

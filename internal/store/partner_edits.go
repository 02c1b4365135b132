package store

import (
	"context"
	"fmt"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
)

// RenamePartner changes a partner's name and tells every instance.
func (c *Conn) RenamePartner(ctx context.Context, id, name string) error {
	const q = `UPDATE partners SET name = ? WHERE id = ?`
	if err := c.mustChangeOne(ctx, "rename partner", q, name, id); err != nil {
		return err
	}
	return c.publish(ctx, EventPartner, id)
}

// SetPartnerActive deactivates a partner (revoking every key it holds, in
// this transaction) or reactivates it (its keys stay revoked: devices pair
// again). ErrConflict when it already is so. Every instance drops its
// cached keys and perks of the partner at once.
func (c *Conn) SetPartnerActive(ctx context.Context, id string, active bool, now time.Time) (revoked []string, err error) {
	if c.tx == nil {
		err = c.s.InTx(ctx, func(tx *Tx) error {
			revoked, err = tx.SetPartnerActive(ctx, id, active, now)
			return err
		})
		return revoked, err
	}
	q, args := `UPDATE partners SET deactivated_at = ? WHERE id = ? AND deactivated_at IS NULL`, []any{c.ts(now), id}
	if active {
		q, args = `UPDATE partners SET deactivated_at = NULL WHERE id = ? AND deactivated_at IS NOT NULL`, []any{id}
	}
	if err := c.mustChangeOne(ctx, "set partner active", q, args...); err != nil {
		return nil, err
	}
	if !active {
		const qKeys = `UPDATE api_keys SET revoked_at = ? WHERE partner_id = ? AND revoked_at IS NULL RETURNING id`
		if err := c.x.SelectContext(ctx, &revoked, c.q(qKeys), c.ts(now), id); err != nil {
			return nil, fmt.Errorf("revoke partner keys: %w", mapErr(err))
		}
	}
	return revoked, c.publish(ctx, EventPartner, id)
}

// UpdateVenue renames a venue, closes it (revoking its keys in this
// transaction) or opens it again, and tells every instance.
func (c *Conn) UpdateVenue(ctx context.Context, v *model.Venue, now time.Time) (revoked []string, err error) {
	if c.tx == nil {
		err = c.s.InTx(ctx, func(tx *Tx) error {
			revoked, err = tx.UpdateVenue(ctx, v, now)
			return err
		})
		return revoked, err
	}
	const q = `UPDATE venues SET name = ?, closed_at = ? WHERE id = ? AND partner_id = ?`
	var closed any
	if v.ClosedAt != nil {
		closed = c.ts(*v.ClosedAt)
	}
	if err := c.mustChangeOne(ctx, "update venue", q, v.Name, closed, v.ID, v.PartnerID); err != nil {
		return nil, err
	}
	if v.ClosedAt != nil {
		const qKeys = `UPDATE api_keys SET revoked_at = ? WHERE venue_id = ? AND revoked_at IS NULL RETURNING id`
		if err := c.x.SelectContext(ctx, &revoked, c.q(qKeys), c.ts(now), v.ID); err != nil {
			return nil, fmt.Errorf("revoke venue keys: %w", mapErr(err))
		}
	}
	return revoked, c.publish(ctx, EventPartner, v.PartnerID)
}

// UpdatePerk writes every field of a perk (its partner and creation time
// excepted) and tells every instance, so the next scan shows it.
func (c *Conn) UpdatePerk(ctx context.Context, p *model.Perk) error {
	const q = `
		UPDATE perks SET title = ?, description = ?, title_en = ?, description_en = ?, eligible_tiers = ?,
			companions = ?, limit_per_day = ?, limit_per_month = ?, days = ?, hours = ?, active = ?
		WHERE id = ? AND partner_id = ?`
	if err := c.mustChangeOne(ctx, "update perk", q, p.Title, p.Description, p.TitleEn, p.DescriptionEn, p.EligibleTiers,
		p.Companions, p.LimitPerDay, p.LimitPerMonth, p.Days, p.Hours, p.Active, p.ID, p.PartnerID); err != nil {
		return err
	}
	return c.publish(ctx, EventPerk, p.PartnerID)
}

// mustChangeOne runs an update that must change a row: none is
// ErrConflict (a missing row, or a guard that refused).
func (c *Conn) mustChangeOne(ctx context.Context, what, q string, args ...any) error {
	ok, err := c.execOne(ctx, what, q, args...)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s: no row changed: %w", what, model.ErrConflict)
	}
	return nil
}

package store

import (
	"context"
	"fmt"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
)

const guestColumns = `id, card_id, member_id, code, party_size, valid_from, valid_until, max_uses, uses, status, created_at`

// CreateGuestPass inserts a pass. The caller checks the member's monthly
// quota with CountGuestPassesSince in the same transaction, after
// LockMember, so that concurrent creations cannot both pass the count.
func (c *Conn) CreateGuestPass(ctx context.Context, g *model.GuestPass) error {
	const q = `INSERT INTO guest_passes (` + guestColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	_, err := c.x.ExecContext(ctx, c.q(q), g.ID, g.CardID, g.MemberID, g.Code, g.PartySize,
		c.ts(g.ValidFrom), c.ts(g.ValidUntil), g.MaxUses, g.Uses, g.Status, c.ts(g.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert guest pass: %w", mapErr(err))
	}
	return nil
}

// CountGuestPassesSince counts the passes a member created since a time.
func (c *Conn) CountGuestPassesSince(ctx context.Context, memberID string, since time.Time) (int, error) {
	const q = `SELECT COUNT(*) FROM guest_passes WHERE member_id = ? AND created_at >= ? AND status <> 'cancelled'`
	var n int
	if err := c.x.GetContext(ctx, &n, c.q(q), memberID, c.ts(since)); err != nil {
		return 0, fmt.Errorf("count guest passes: %w", mapErr(err))
	}
	return n, nil
}

// GuestPass returns one pass.
func (c *Conn) GuestPass(ctx context.Context, id string) (*model.GuestPass, error) {
	const q = `SELECT ` + guestColumns + ` FROM guest_passes WHERE id = ?`
	var g model.GuestPass
	if err := c.x.GetContext(ctx, &g, c.q(q), id); err != nil {
		return nil, fmt.Errorf("guest pass: %w", mapErr(err))
	}
	return &g, nil
}

// MemberGuestPasses lists a member's passes, newest first.
func (c *Conn) MemberGuestPasses(ctx context.Context, memberID string, limit int) ([]model.GuestPass, error) {
	const q = `SELECT ` + guestColumns + ` FROM guest_passes WHERE member_id = ? ORDER BY created_at DESC LIMIT ?`
	var gs []model.GuestPass
	if err := c.x.SelectContext(ctx, &gs, c.q(q), memberID, limit); err != nil {
		return nil, fmt.Errorf("member guest passes: %w", mapErr(err))
	}
	return gs, nil
}

// CancelGuestPass cancels an unused pass of this member.
func (c *Conn) CancelGuestPass(ctx context.Context, id, memberID string) error {
	if c.tx == nil { // the status list entry commits with the cancellation
		return c.s.InTx(ctx, func(tx *Tx) error { return tx.CancelGuestPass(ctx, id, memberID) })
	}
	const q = `UPDATE guest_passes SET status = 'cancelled' WHERE id = ? AND member_id = ? AND status = 'active' AND uses = 0`
	res, err := c.x.ExecContext(ctx, c.q(q), id, memberID)
	if err != nil {
		return fmt.Errorf("cancel guest pass: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("cancel guest pass %s: %w", id, model.ErrConflict)
	}
	return c.recordGuestCancelled(ctx, id, "", time.Now().UTC())
}

// UseGuestPass takes one use of a pass atomically: it fails with ErrLimit
// when none is left, however many requests race for the last one.
func (c *Conn) UseGuestPass(ctx context.Context, id string) error {
	const q = `UPDATE guest_passes SET uses = uses + 1 WHERE id = ? AND uses < max_uses AND status = 'active'`
	res, err := c.x.ExecContext(ctx, c.q(q), id)
	if err != nil {
		return fmt.Errorf("use guest pass: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("guest pass %s: %w", id, model.ErrLimit)
	}
	return nil
}

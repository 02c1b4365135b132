package store

import (
	"context"
	"fmt"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
)

// ActiveMembersByEmail returns the active members with this e-mail address
// (the domain compared without case, as it is stored lower-cased).
func (c *Conn) ActiveMembersByEmail(ctx context.Context, email string) ([]model.Member, error) {
	const q = `SELECT ` + memberColumns + ` FROM members WHERE email = ? AND status = 'active' ORDER BY employee_no LIMIT 5`
	var ms []model.Member
	if err := c.x.SelectContext(ctx, &ms, c.q(q), email); err != nil {
		return nil, fmt.Errorf("members by e-mail: %w", mapErr(err))
	}
	return ms, nil
}

// CreateRecoveryToken keeps the hash of a recovery link sent to a member.
func (c *Conn) CreateRecoveryToken(ctx context.Context, hash, memberID string, now, expires time.Time) error {
	const q = `INSERT INTO recovery_tokens (token_hash, member_id, created_at, expires_at) VALUES (?, ?, ?, ?)`
	if _, err := c.x.ExecContext(ctx, c.q(q), hash, memberID, c.ts(now), c.ts(expires)); err != nil {
		return fmt.Errorf("create recovery token: %w", mapErr(err))
	}
	return nil
}

// TakeRecoveryToken uses a recovery link once, while it is fresh, and
// returns its member; ErrNotFound for an unknown, used or expired link.
func (c *Conn) TakeRecoveryToken(ctx context.Context, hash string, now time.Time) (string, error) {
	const q = `UPDATE recovery_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`
	res, err := c.x.ExecContext(ctx, c.q(q), c.ts(now), hash, c.ts(now))
	if err != nil {
		return "", fmt.Errorf("take recovery token: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return "", fmt.Errorf("recovery token: %w", model.ErrNotFound)
	}
	const qMember = `SELECT member_id FROM recovery_tokens WHERE token_hash = ?`
	var memberID string
	if err := c.x.GetContext(ctx, &memberID, c.q(qMember), hash); err != nil {
		return "", fmt.Errorf("recovery token member: %w", mapErr(err))
	}
	return memberID, nil
}

// RecoveryTokenLive reports whether a recovery link may still be used
// (unused and fresh), without using it: the confirmation page asks first.
func (c *Conn) RecoveryTokenLive(ctx context.Context, hash string, now time.Time) (bool, error) {
	const q = `SELECT COUNT(*) FROM recovery_tokens WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`
	var n int
	if err := c.x.GetContext(ctx, &n, c.q(q), hash, c.ts(now)); err != nil {
		return false, fmt.Errorf("recovery token: %w", mapErr(err))
	}
	return n > 0, nil
}

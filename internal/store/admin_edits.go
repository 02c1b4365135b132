package store

import (
	"context"
	"fmt"
	"time"
)

// LockActiveAdmins locks the rows of the active admins (role admin, not
// disabled) until the transaction ends and returns their ids: every change
// that could leave no admin takes this lock first, so two admins demoting
// each other at once run one after the other and the second sees the
// first. On SQLite the transaction holds the database already.
func (t *Tx) LockActiveAdmins(ctx context.Context) ([]string, error) {
	q := `SELECT id FROM admins WHERE role = 'admin' AND disabled_at IS NULL ORDER BY id` + t.s.dialect.forUpdate
	var ids []string
	if err := t.x.SelectContext(ctx, &ids, q); err != nil {
		return nil, fmt.Errorf("lock active admins: %w", mapErr(err))
	}
	return ids, nil
}

// UpdateAdminAccess writes a console user's role, partner and disabled
// time (nil: active).
func (c *Conn) UpdateAdminAccess(ctx context.Context, id, role string, partnerID *string, disabledAt *time.Time) error {
	const q = `UPDATE admins SET role = ?, partner_id = ?, disabled_at = ? WHERE id = ?`
	var disabled any
	if disabledAt != nil {
		disabled = c.ts(*disabledAt)
	}
	return c.mustChangeOne(ctx, "update admin access", q, role, partnerID, disabled, id)
}

// SetAdminPassword replaces a console user's password hash.
func (c *Conn) SetAdminPassword(ctx context.Context, id, hash string) error {
	const q = `UPDATE admins SET password_hash = ? WHERE id = ?`
	return c.mustChangeOne(ctx, "set admin password", q, hash, id)
}

// ResetAdminTOTP removes a console user's second factor: their next
// sign-in sets up a new one.
func (c *Conn) ResetAdminTOTP(ctx context.Context, id string) error {
	const q = `UPDATE admins SET totp_enabled = FALSE, totp_secret_enc = NULL, totp_last_step = 0 WHERE id = ?`
	return c.mustChangeOne(ctx, "reset admin totp", q, id)
}

// DeleteAdminSessions signs a console user out everywhere.
func (c *Conn) DeleteAdminSessions(ctx context.Context, adminID string) error {
	const q = `DELETE FROM sessions WHERE admin_id = ?`
	if _, err := c.x.ExecContext(ctx, c.q(q), adminID); err != nil {
		return fmt.Errorf("delete admin sessions: %w", mapErr(err))
	}
	return nil
}

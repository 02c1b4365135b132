package store

import (
	"context"
	"fmt"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
)

const adminColumns = `id, email, name, password_hash, role, partner_id, totp_secret_enc, totp_enabled, locale, created_at, disabled_at`

// CreateAdmin inserts a console user.
func (c *Conn) CreateAdmin(ctx context.Context, a *model.Admin) error {
	const q = `INSERT INTO admins (` + adminColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`
	_, err := c.x.ExecContext(ctx, c.q(q), a.ID, a.Email, a.Name, a.PasswordHash, a.Role, a.PartnerID,
		a.TOTPSecretEnc, a.TOTPEnabled, a.Locale, c.ts(a.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert admin: %w", mapErr(err))
	}
	return nil
}

// AdminByEmail finds a console user by e-mail (case-insensitive).
func (c *Conn) AdminByEmail(ctx context.Context, email string) (*model.Admin, error) {
	const q = `SELECT ` + adminColumns + ` FROM admins WHERE LOWER(email) = LOWER(?)`
	var a model.Admin
	if err := c.x.GetContext(ctx, &a, c.q(q), email); err != nil {
		return nil, fmt.Errorf("admin by email: %w", mapErr(err))
	}
	return &a, nil
}

// Admin returns one console user.
func (c *Conn) Admin(ctx context.Context, id string) (*model.Admin, error) {
	const q = `SELECT ` + adminColumns + ` FROM admins WHERE id = ?`
	var a model.Admin
	if err := c.x.GetContext(ctx, &a, c.q(q), id); err != nil {
		return nil, fmt.Errorf("admin: %w", mapErr(err))
	}
	return &a, nil
}

// CountAdmins counts console users (seeding runs only on an empty table).
func (c *Conn) CountAdmins(ctx context.Context) (int, error) {
	var n int
	if err := c.x.GetContext(ctx, &n, `SELECT COUNT(*) FROM admins`); err != nil {
		return 0, fmt.Errorf("count admins: %w", mapErr(err))
	}
	return n, nil
}

// ConfirmAdminTOTP makes enc the console user's second factor and records
// step as the last one used, only while none is confirmed: of two sessions
// confirming at once, one wins. It reports whether this call did.
func (c *Conn) ConfirmAdminTOTP(ctx context.Context, id string, enc []byte, step int64) (bool, error) {
	const q = `
		UPDATE admins SET totp_secret_enc = ?, totp_enabled = TRUE, totp_last_step = ?
		WHERE id = ? AND totp_enabled = FALSE`
	return c.execOne(ctx, "confirm admin totp", q, enc, step, id)
}

// UseAdminTOTPStep records that the code of a TOTP time step was accepted,
// only if no code of that step or a later one was: a code is good once
// (RFC 6238 §5.2), however many sign-ins race with it. It reports whether
// this call took the step.
func (c *Conn) UseAdminTOTPStep(ctx context.Context, id string, step int64) (bool, error) {
	const q = `
		UPDATE admins SET totp_last_step = ?
		WHERE id = ? AND totp_enabled = TRUE AND totp_last_step < ?`
	return c.execOne(ctx, "use admin totp step", q, step, id, step)
}

// execOne runs a guarded UPDATE and reports whether it changed a row.
func (c *Conn) execOne(ctx context.Context, what, q string, args ...any) (bool, error) {
	res, err := c.x.ExecContext(ctx, c.q(q), args...)
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, mapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, mapErr(err))
	}
	return n == 1, nil
}

// AdminTOTPSecrets lists the encrypted TOTP secrets of console users, by
// user id (for rewrap).
func (c *Conn) AdminTOTPSecrets(ctx context.Context) (map[string][]byte, error) {
	const q = `SELECT id, totp_secret_enc FROM admins WHERE totp_secret_enc IS NOT NULL`
	var rows []struct {
		ID  string `db:"id"`
		Enc []byte `db:"totp_secret_enc"`
	}
	if err := c.x.SelectContext(ctx, &rows, q); err != nil {
		return nil, fmt.Errorf("admin totp secrets: %w", mapErr(err))
	}
	out := make(map[string][]byte, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Enc
	}
	return out, nil
}

// RewrapAdminTOTP replaces one console user's encrypted TOTP secret.
func (c *Conn) RewrapAdminTOTP(ctx context.Context, id string, enc []byte) error {
	const q = `UPDATE admins SET totp_secret_enc = ? WHERE id = ?`
	if _, err := c.x.ExecContext(ctx, c.q(q), enc, id); err != nil {
		return fmt.Errorf("rewrap admin totp: %w", mapErr(err))
	}
	return nil
}

// Session is a console sign-in.
type Session struct {
	IDHash    string    `db:"id_hash"`
	AdminID   string    `db:"admin_id"`
	CSRF      string    `db:"csrf"`
	MFADone   bool      `db:"mfa_done"`
	CreatedAt time.Time `db:"created_at"`
	ExpiresAt time.Time `db:"expires_at"`
	// TOTPPendingEnc is the sealed second factor this session is setting
	// up, shown on its setup page until a code confirms it.
	TOTPPendingEnc []byte `db:"totp_pending_enc"`
}

// CreateSession stores a session by the hash of its cookie value.
func (c *Conn) CreateSession(ctx context.Context, s *Session) error {
	const q = `INSERT INTO sessions (id_hash, admin_id, csrf, mfa_done, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`
	if _, err := c.x.ExecContext(ctx, c.q(q), s.IDHash, s.AdminID, s.CSRF, s.MFADone, c.ts(s.CreatedAt), c.ts(s.ExpiresAt)); err != nil {
		return fmt.Errorf("insert session: %w", mapErr(err))
	}
	return nil
}

// SessionByHash returns a live session.
func (c *Conn) SessionByHash(ctx context.Context, hash string, now time.Time) (*Session, error) {
	const q = `
		SELECT id_hash, admin_id, csrf, mfa_done, created_at, expires_at, totp_pending_enc
		FROM sessions WHERE id_hash = ? AND expires_at > ?`
	var s Session
	if err := c.x.GetContext(ctx, &s, c.q(q), hash, c.ts(now)); err != nil {
		return nil, fmt.Errorf("session: %w", mapErr(err))
	}
	return &s, nil
}

// SetSessionPendingTOTP stores the sealed secret a session is setting up,
// replacing prev (nil: none yet). It reports false when the session has
// another one by now (a reload raced) or is past its second factor.
func (c *Conn) SetSessionPendingTOTP(ctx context.Context, hash string, enc, prev []byte) (bool, error) {
	const q = `
		UPDATE sessions SET totp_pending_enc = ?
		WHERE id_hash = ? AND mfa_done = FALSE
		  AND (totp_pending_enc IS NULL OR totp_pending_enc = ?)`
	return c.execOne(ctx, "set pending totp", q, enc, hash, prev)
}

// ClearPendingTOTP forgets every session's unconfirmed second factor of a
// console user, once one is confirmed.
func (c *Conn) ClearPendingTOTP(ctx context.Context, adminID string) error {
	const q = `UPDATE sessions SET totp_pending_enc = NULL WHERE admin_id = ? AND totp_pending_enc IS NOT NULL`
	if _, err := c.x.ExecContext(ctx, c.q(q), adminID); err != nil {
		return fmt.Errorf("clear pending totp: %w", mapErr(err))
	}
	return nil
}

// RenewSession completes a session's second factor under a new id: the
// row moves from oldHash to newHash with a new CSRF token, so the cookie a
// session was fixed with before signing in is dead afterwards. It reports
// false when oldHash is not a session waiting for its second factor.
func (c *Conn) RenewSession(ctx context.Context, oldHash, newHash, csrf string) (bool, error) {
	const q = `
		UPDATE sessions SET id_hash = ?, csrf = ?, mfa_done = TRUE, totp_pending_enc = NULL
		WHERE id_hash = ? AND mfa_done = FALSE`
	return c.execOne(ctx, "renew session", q, newHash, csrf, oldHash)
}

// DeleteSession signs out.
func (c *Conn) DeleteSession(ctx context.Context, hash string) error {
	const q = `DELETE FROM sessions WHERE id_hash = ?`
	if _, err := c.x.ExecContext(ctx, c.q(q), hash); err != nil {
		return fmt.Errorf("delete session: %w", mapErr(err))
	}
	return nil
}

// ListAdmins returns every console user, HR first, then partner managers,
// each by e-mail.
func (c *Conn) ListAdmins(ctx context.Context) ([]model.Admin, error) {
	const q = `
		SELECT ` + adminColumns + `
		FROM admins
		ORDER BY CASE WHEN role = 'partner_manager' THEN 1 ELSE 0 END, email`
	var as []model.Admin
	if err := c.x.SelectContext(ctx, &as, q); err != nil {
		return nil, fmt.Errorf("list admins: %w", mapErr(err))
	}
	return as, nil
}

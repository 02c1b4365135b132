package store

import (
	"context"
	"fmt"
	"time"
)

// SignInThrottle is the count of failed console sign-ins under one key: an
// (account, address) pair or an address. What the counts mean (backoff,
// caps) is decided in auth; this is only their storage, shared by every
// instance.
type SignInThrottle struct {
	Key          string    `db:"key"`
	Failures     int       `db:"failures"`
	WindowStart  time.Time `db:"window_start"`
	LastAt       time.Time `db:"last_at"`
	BlockedUntil time.Time `db:"blocked_until"`
}

// LockSignInThrottle returns the throttle row of key, creating an empty one,
// and holds it for the rest of the transaction (a row lock on PostgreSQL;
// SQLite's transactions are serial anyway), so that concurrent sign-ins
// count one after the other. Call it inside InTx.
func (c *Conn) LockSignInThrottle(ctx context.Context, key string, now time.Time) (*SignInThrottle, error) {
	const upsert = `
		INSERT INTO signin_throttle (key, failures, window_start, last_at, blocked_until)
		VALUES (?, 0, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET failures = signin_throttle.failures`
	if _, err := c.x.ExecContext(ctx, c.q(upsert), key, c.ts(now), c.ts(now), c.ts(now)); err != nil {
		return nil, fmt.Errorf("lock sign-in throttle: %w", mapErr(err))
	}
	const q = `
		SELECT key, failures, window_start, last_at, blocked_until
		FROM signin_throttle WHERE key = ?`
	var t SignInThrottle
	if err := c.x.GetContext(ctx, &t, c.q(q), key); err != nil {
		return nil, fmt.Errorf("read sign-in throttle: %w", mapErr(err))
	}
	return &t, nil
}

// SaveSignInThrottle writes a row read by LockSignInThrottle back.
func (c *Conn) SaveSignInThrottle(ctx context.Context, t *SignInThrottle) error {
	const q = `
		UPDATE signin_throttle
		SET failures = ?, window_start = ?, last_at = ?, blocked_until = ?
		WHERE key = ?`
	if _, err := c.x.ExecContext(ctx, c.q(q), t.Failures, c.ts(t.WindowStart), c.ts(t.LastAt), c.ts(t.BlockedUntil), t.Key); err != nil {
		return fmt.Errorf("save sign-in throttle: %w", mapErr(err))
	}
	return nil
}

// DeleteSignInThrottle forgets a key (a successful sign-in clears its pair).
func (c *Conn) DeleteSignInThrottle(ctx context.Context, key string) error {
	const q = `DELETE FROM signin_throttle WHERE key = ?`
	if _, err := c.x.ExecContext(ctx, c.q(q), key); err != nil {
		return fmt.Errorf("delete sign-in throttle: %w", mapErr(err))
	}
	return nil
}

// PurgeSignInThrottle deletes rows untouched since before, which no longer
// hold anyone back.
func (c *Conn) PurgeSignInThrottle(ctx context.Context, before time.Time) error {
	const q = `DELETE FROM signin_throttle WHERE last_at < ?`
	if _, err := c.x.ExecContext(ctx, c.q(q), c.ts(before)); err != nil {
		return fmt.Errorf("purge sign-in throttle: %w", mapErr(err))
	}
	return nil
}

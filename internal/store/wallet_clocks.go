package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// WalletClock is what is known of one card's phone clock. A nil field was
// never observed.
type WalletClock struct {
	ReportedMS   *int64     // server clock minus the phone's, at its last sync
	ReportedAt   *time.Time // when
	StaleSeconds *int       // offset of the card's last stale scan
	StaleAt      *time.Time // when
}

// ReportWalletClock records a card's phone clock offset measured at a sync.
func (c *Conn) ReportWalletClock(ctx context.Context, cardID string, offsetMS int64, at time.Time) error {
	const q = `
		INSERT INTO wallet_clocks (card_id, reported_ms, reported_at) VALUES (?, ?, ?)
		ON CONFLICT (card_id) DO UPDATE SET reported_ms = excluded.reported_ms, reported_at = excluded.reported_at`
	if _, err := c.x.ExecContext(ctx, c.q(q), cardID, offsetMS, c.ts(at)); err != nil {
		return fmt.Errorf("report wallet clock: %w", mapErr(err))
	}
	return nil
}

// SeeStaleOffset records the offset of a card's stale scan and returns what
// was known before it.
func (c *Conn) SeeStaleOffset(ctx context.Context, cardID string, offsetSeconds int, at time.Time) (*WalletClock, error) {
	before, err := c.walletClock(ctx, cardID)
	if err != nil {
		return nil, err
	}
	const q = `
		INSERT INTO wallet_clocks (card_id, stale_seconds, stale_at) VALUES (?, ?, ?)
		ON CONFLICT (card_id) DO UPDATE SET stale_seconds = excluded.stale_seconds, stale_at = excluded.stale_at`
	if _, err := c.x.ExecContext(ctx, c.q(q), cardID, offsetSeconds, c.ts(at)); err != nil {
		return nil, fmt.Errorf("see stale offset: %w", mapErr(err))
	}
	return before, nil
}

func (c *Conn) walletClock(ctx context.Context, cardID string) (*WalletClock, error) {
	const q = `SELECT reported_ms, reported_at, stale_seconds, stale_at FROM wallet_clocks WHERE card_id = ?`
	var row struct {
		ReportedMS   sql.NullInt64 `db:"reported_ms"`
		ReportedAt   sql.NullTime  `db:"reported_at"`
		StaleSeconds sql.NullInt64 `db:"stale_seconds"`
		StaleAt      sql.NullTime  `db:"stale_at"`
	}
	err := c.x.GetContext(ctx, &row, c.q(q), cardID)
	if errors.Is(err, sql.ErrNoRows) {
		return &WalletClock{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("wallet clock: %w", mapErr(err))
	}
	w := &WalletClock{}
	if row.ReportedMS.Valid && row.ReportedAt.Valid {
		ms, at := row.ReportedMS.Int64, row.ReportedAt.Time
		w.ReportedMS, w.ReportedAt = &ms, &at
	}
	if row.StaleSeconds.Valid && row.StaleAt.Valid {
		s, at := int(row.StaleSeconds.Int64), row.StaleAt.Time
		w.StaleSeconds, w.StaleAt = &s, &at
	}
	return w, nil
}

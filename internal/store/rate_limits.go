package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
)

// RateTake is the outcome of TakeRateLimit: whether the event was let
// through, the window it was counted in (for RefundRateLimit), and, when
// refused, until when.
type RateTake struct {
	OK          bool
	Count       int
	WindowStart time.Time
	Until       time.Time // when refused: when the key is let through again
}

// RateFailure is the outcome of CountRateFailure: the failures counted in
// the key's window so far and, if the key is over its budget, until when
// it is blocked.
type RateFailure struct {
	Count        int
	WindowStart  time.Time
	BlockedUntil time.Time // zero when not blocked
}

// RateBlock is a key refused by every instance until Until.
type RateBlock struct {
	Key   string `db:"key"`
	Until int64  `db:"blocked_until"`
}

// rateRow is what the rate limit statements return.
type rateRow struct {
	Count        int   `db:"count"`
	WindowStart  int64 `db:"window_start"`
	BlockedUntil int64 `db:"blocked_until"`
	ExpiresAt    int64 `db:"expires_at"`
}

// A key's window is over when it has expired, or when it opened more than
// a period after now: a clock set back (a test, an operator) starts afresh,
// while the small skew between instances' clocks does not.

// TakeRateLimit counts one event for key if it is within max events per
// period, in one statement: the UPSERT's WHERE refuses a key that is full
// (or blocked) for the rest of its window, and PostgreSQL's row lock on
// the conflicting row (SQLite's single writer) makes concurrent takers
// count one after the other, so no more than max ever get through.
func (c *Conn) TakeRateLimit(ctx context.Context, key string, max int, period time.Duration, now time.Time) (RateTake, error) {
	const q = `
		INSERT INTO rate_limits AS r (key, window_start, count, blocked_until, expires_at)
		VALUES (?, ?, 1, 0, ?)
		ON CONFLICT (key) DO UPDATE SET
			count = CASE WHEN (r.expires_at <= ? OR r.window_start > ?) THEN 1 ELSE r.count + 1 END,
			window_start = CASE WHEN (r.expires_at <= ? OR r.window_start > ?) THEN excluded.window_start ELSE r.window_start END,
			blocked_until = CASE WHEN (r.expires_at <= ? OR r.window_start > ?) THEN 0 ELSE r.blocked_until END,
			expires_at = CASE WHEN (r.expires_at <= ? OR r.window_start > ?) THEN excluded.expires_at ELSE r.expires_at END
		WHERE r.expires_at <= ? OR r.window_start > ? OR (r.count < ? AND r.blocked_until <= ?)
		RETURNING count, window_start, blocked_until, expires_at`
	ms, ahead := now.UnixMilli(), now.Add(period).UnixMilli()
	var row rateRow
	err := c.x.GetContext(ctx, &row, c.q(q), key, ms, ms+period.Milliseconds(),
		ms, ahead, ms, ahead, ms, ahead, ms, ahead, ms, ahead, max, ms)
	if err == nil {
		return RateTake{OK: true, Count: row.Count, WindowStart: time.UnixMilli(row.WindowStart).UTC()}, nil
	}
	if err = mapErr(err); !errors.Is(err, model.ErrNotFound) {
		return RateTake{}, fmt.Errorf("take rate limit: %w", err)
	}
	// Refused: the row is full. Say until when (a second read, only for
	// refusals).
	const read = `SELECT count, window_start, blocked_until, expires_at FROM rate_limits WHERE key = ?`
	if err := c.x.GetContext(ctx, &row, c.q(read), key); err != nil {
		return RateTake{}, fmt.Errorf("read rate limit: %w", mapErr(err))
	}
	return RateTake{Count: row.Count, WindowStart: time.UnixMilli(row.WindowStart).UTC(), Until: time.UnixMilli(row.ExpiresAt).UTC()}, nil
}

// RefundRateLimit gives back one event of key counted in the window that
// opened at windowStart (the event turned out not to count); an event of a
// window that has since ended is dropped.
func (c *Conn) RefundRateLimit(ctx context.Context, key string, windowStart time.Time) error {
	const q = `
		UPDATE rate_limits SET count = count - 1
		WHERE key = ? AND window_start = ? AND count > 0`
	if _, err := c.x.ExecContext(ctx, c.q(q), key, windowStart.UnixMilli()); err != nil {
		return fmt.Errorf("refund rate limit: %w", mapErr(err))
	}
	return nil
}

// CountRateFailure counts one failure of key, which has happened already
// (the answer is decided), so it is never refused. When the count passes
// max in the key's window, the key is blocked for as many periods as it
// used budgets (window_start + period × ⌈count/max⌉): failures that
// slipped through other instances before they heard of the block are paid
// back by a longer block. Setting or extending the block publishes an
// EventThrottle in the same transaction.
func (s *Store) CountRateFailure(ctx context.Context, key string, max int, period time.Duration, now time.Time) (RateFailure, error) {
	var out RateFailure
	err := s.InTx(ctx, func(tx *Tx) error {
		const q = `
			INSERT INTO rate_limits AS r (key, window_start, count, blocked_until, expires_at)
			VALUES (?, ?, 1, 0, ?)
			ON CONFLICT (key) DO UPDATE SET
				count = CASE WHEN (r.expires_at <= ? OR r.window_start > ?) THEN 1 ELSE r.count + 1 END,
				window_start = CASE WHEN (r.expires_at <= ? OR r.window_start > ?) THEN excluded.window_start ELSE r.window_start END,
				blocked_until = CASE WHEN (r.expires_at <= ? OR r.window_start > ?) THEN 0 ELSE r.blocked_until END,
				expires_at = CASE WHEN (r.expires_at <= ? OR r.window_start > ?) THEN excluded.expires_at ELSE r.expires_at END
			RETURNING count, window_start, blocked_until, expires_at`
		ms, ahead := now.UnixMilli(), now.Add(period).UnixMilli()
		var row rateRow
		if err := tx.x.GetContext(ctx, &row, tx.q(q), key, ms, ms+period.Milliseconds(),
			ms, ahead, ms, ahead, ms, ahead, ms, ahead); err != nil {
			return fmt.Errorf("count rate failure: %w", mapErr(err))
		}
		out = RateFailure{Count: row.Count, WindowStart: time.UnixMilli(row.WindowStart).UTC()}
		if row.Count < max {
			return nil
		}
		until := row.WindowStart + period.Milliseconds()*int64((row.Count+max-1)/max)
		if until <= row.BlockedUntil {
			out.BlockedUntil = time.UnixMilli(row.BlockedUntil).UTC()
			return nil
		}
		const block = `
			UPDATE rate_limits SET blocked_until = ?, expires_at = ?
			WHERE key = ?`
		if _, err := tx.x.ExecContext(ctx, tx.q(block), until, until, key); err != nil {
			return fmt.Errorf("block rate limit: %w", mapErr(err))
		}
		out.BlockedUntil = time.UnixMilli(until).UTC()
		return tx.publish(ctx, EventThrottle, strconv.FormatInt(until, 10)+" "+key)
	})
	return out, err
}

// ActiveRateBlocks lists the keys blocked after now: an instance that
// starts, or whose change feed was interrupted, reads them again.
func (c *Conn) ActiveRateBlocks(ctx context.Context, now time.Time) ([]RateBlock, error) {
	const q = `
		SELECT key, blocked_until FROM rate_limits
		WHERE blocked_until > ?`
	var bs []RateBlock
	if err := c.x.SelectContext(ctx, &bs, c.q(q), now.UnixMilli()); err != nil {
		return nil, fmt.Errorf("active rate blocks: %w", mapErr(err))
	}
	return bs, nil
}

// PurgeRateLimits deletes rows that no longer hold anyone back (their
// window and block ended before now), and says how many.
func (c *Conn) PurgeRateLimits(ctx context.Context, now time.Time) (int64, error) {
	const q = `DELETE FROM rate_limits WHERE expires_at <= ?`
	res, err := c.x.ExecContext(ctx, c.q(q), now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("purge rate limits: %w", mapErr(err))
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// ThrottleNotice reads the ID of an EventThrottle: the key and until when
// it is blocked.
func ThrottleNotice(id string) (key string, until time.Time, ok bool) {
	ms, key, found := strings.Cut(id, " ")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !found || err != nil || key == "" {
		return "", time.Time{}, false
	}
	return key, time.UnixMilli(n).UTC(), true
}

package store

import (
	"context"
	"fmt"
	"time"
)

// Status list subjects and statuses as status_changes stores them. An
// 'active' row is a subject that was listed and no longer is.
const (
	StatusSubjectCard  = "card"
	StatusSubjectGuest = "guest"

	statusActive    = "active"
	statusRevoked   = "revoked"
	statusSuspended = "suspended"
	statusCancelled = "cancelled"
)

// StatusEntry is one card or guest pass as the status list sees it.
type StatusEntry struct {
	SubjectID string `db:"subject_id"`
	Kind      string `db:"subject_kind"`
	Status    string `db:"status"` // revoked, suspended, cancelled; active when cleared
}

// recordStatus gives the subjects selected by from the status under the
// next sequence number of the status list. from is the rest of a SELECT
// whose first column is the subject id: "expires_at FROM cards WHERE ...".
// Inside a transaction the sequence number is taken in it, so it becomes
// visible with the change; outside one, a transaction is opened for the
// two statements.
func (c *Conn) recordStatus(ctx context.Context, kind, status string, now time.Time, from string, args ...any) error {
	run := func(x *Conn) error {
		const qSeq = `UPDATE status_list_head SET seq = seq + 1 WHERE id = 1 RETURNING seq`
		var seq int64
		if err := x.x.GetContext(ctx, &seq, qSeq); err != nil {
			return fmt.Errorf("status list seq: %w", mapErr(err))
		}
		q := `
			INSERT INTO status_changes (subject_id, subject_kind, status, seq, changed_at, expires_at)
			SELECT id, ?, ?, ?, ?, ` + from + `
			ON CONFLICT (subject_id) DO UPDATE SET status = excluded.status, seq = excluded.seq,
				changed_at = excluded.changed_at, expires_at = excluded.expires_at`
		if _, err := x.x.ExecContext(ctx, x.q(q), append([]any{kind, status, seq, x.ts(now)}, args...)...); err != nil {
			return fmt.Errorf("record %s status %s: %w", kind, status, mapErr(err))
		}
		return nil
	}
	if c.tx != nil {
		return run(c)
	}
	return c.s.InTx(ctx, func(tx *Tx) error { return run(&tx.Conn) })
}

// recordMemberCards records status for every active card of a member:
// what a member's suspension, reinstatement or revocation means offline.
func (c *Conn) recordMemberCards(ctx context.Context, memberID, memberStatus string, now time.Time) error {
	status := statusActive
	switch memberStatus {
	case statusSuspended, statusRevoked:
		status = memberStatus
	}
	return c.recordStatus(ctx, StatusSubjectCard, status, now,
		`expires_at FROM cards WHERE member_id = ? AND status = 'active'`, memberID)
}

// recordCardRevoked records that a card is revoked.
func (c *Conn) recordCardRevoked(ctx context.Context, cardID string, now time.Time) error {
	return c.recordStatus(ctx, StatusSubjectCard, statusRevoked, now, `expires_at FROM cards WHERE id = ?`, cardID)
}

// recordGuestCancelled records that guest passes are cancelled: the one
// named, or with memberID set, every cancelled pass of that member.
func (c *Conn) recordGuestCancelled(ctx context.Context, passID, memberID string, now time.Time) error {
	if memberID != "" {
		return c.recordStatus(ctx, StatusSubjectGuest, statusCancelled, now,
			`valid_until FROM guest_passes WHERE member_id = ? AND status = 'cancelled'`, memberID)
	}
	return c.recordStatus(ctx, StatusSubjectGuest, statusCancelled, now, `valid_until FROM guest_passes WHERE id = ?`, passID)
}

// StatusListSeq returns the sequence number the status list is current to.
// Read it before the entries: every change with a number up to it has
// committed, so a list labelled with it misses none (it may already show
// later ones, which the next delta repeats).
func (c *Conn) StatusListSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := c.x.GetContext(ctx, &seq, `SELECT seq FROM status_list_head WHERE id = 1`); err != nil {
		return 0, fmt.Errorf("status list seq: %w", mapErr(err))
	}
	return seq, nil
}

// StatusSnapshot returns every listed subject that has not expired by now,
// for a full status list.
func (c *Conn) StatusSnapshot(ctx context.Context, now time.Time) ([]StatusEntry, error) {
	const q = `
		SELECT subject_id, subject_kind, status FROM status_changes
		WHERE status <> 'active' AND expires_at > ?`
	var es []StatusEntry
	if err := c.x.SelectContext(ctx, &es, c.q(q), c.ts(now)); err != nil {
		return nil, fmt.Errorf("status snapshot: %w", mapErr(err))
	}
	return es, nil
}

// StatusChangesSince returns the subjects whose status changed after seq,
// with their status now; an expired one is reported active (cleared),
// since a verifier refuses it by its own expiry anyway.
func (c *Conn) StatusChangesSince(ctx context.Context, seq int64, now time.Time) ([]StatusEntry, error) {
	const q = `
		SELECT subject_id, subject_kind, CASE WHEN expires_at > ? THEN status ELSE 'active' END AS status
		FROM status_changes WHERE seq > ?`
	var es []StatusEntry
	if err := c.x.SelectContext(ctx, &es, c.q(q), c.ts(now), seq); err != nil {
		return nil, fmt.Errorf("status changes: %w", mapErr(err))
	}
	return es, nil
}

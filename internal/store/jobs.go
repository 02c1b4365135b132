package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
)

const jobColumns = `id, kind, status, source, actor_type, actor_id, actor_name, total, created_at, finished_at`

const jobItemColumns = `id, job_id, member_id, seq, state, attempts, lease_owner, lease_until, card_id, detail, updated_at`

// JobItemID is the id of a job's n-th item. It is fixed by the job and the
// position, so it can name the item outside the database too (the outbox
// file of its e-mail).
func JobItemID(jobID string, seq int) string { return fmt.Sprintf("%s-%06d", jobID, seq) }

// CreateJob inserts a job and one pending item per member, in order, in one
// transaction: a job is visible to workers whole or not at all. A member
// named twice is a conflict (job_items is unique per job and member); an
// unknown member is ErrInvalid.
func (c *Conn) CreateJob(ctx context.Context, j *model.Job, memberIDs []string) error {
	if c.tx == nil {
		return c.s.InTx(ctx, func(tx *Tx) error { return tx.CreateJob(ctx, j, memberIDs) })
	}
	const q = `INSERT INTO jobs (` + jobColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`
	if _, err := c.x.ExecContext(ctx, c.q(q), j.ID, j.Kind, j.Status, j.Source, j.ActorType, j.ActorID,
		j.ActorName, j.Total, c.ts(j.CreatedAt)); err != nil {
		return fmt.Errorf("insert job: %w", mapErr(err))
	}
	const batch = 500
	for start := 0; start < len(memberIDs); start += batch {
		end := min(start+batch, len(memberIDs))
		var b strings.Builder
		b.WriteString(`INSERT INTO job_items (id, job_id, member_id, seq, state, updated_at) VALUES `)
		args := make([]any, 0, (end-start)*6)
		for i, id := range memberIDs[start:end] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?)")
			seq := start + i + 1
			args = append(args, JobItemID(j.ID, seq), j.ID, id, seq, model.ItemPending, c.ts(j.CreatedAt))
		}
		if _, err := c.x.ExecContext(ctx, c.q(b.String()), args...); err != nil {
			return fmt.Errorf("insert job items: %w", mapErr(err))
		}
	}
	return nil
}

// Job returns one job.
func (c *Conn) Job(ctx context.Context, id string) (*model.Job, error) {
	const q = `SELECT ` + jobColumns + ` FROM jobs WHERE id = ?`
	var j model.Job
	if err := c.x.GetContext(ctx, &j, c.q(q), id); err != nil {
		return nil, fmt.Errorf("job %s: %w", id, mapErr(err))
	}
	return &j, nil
}

// ListJobs returns the latest jobs, newest first.
func (c *Conn) ListJobs(ctx context.Context, limit int) ([]model.Job, error) {
	const q = `SELECT ` + jobColumns + ` FROM jobs ORDER BY created_at DESC, id DESC LIMIT ?`
	var js []model.Job
	if err := c.x.SelectContext(ctx, &js, c.q(q), limit); err != nil {
		return nil, fmt.Errorf("list jobs: %w", mapErr(err))
	}
	return js, nil
}

// JobCounts counts a job's items by state: the progress of the job.
func (c *Conn) JobCounts(ctx context.Context, jobID string) (map[string]int, error) {
	const q = `SELECT state, COUNT(*) AS n FROM job_items WHERE job_id = ? GROUP BY state`
	var rows []struct {
		State string `db:"state"`
		N     int    `db:"n"`
	}
	if err := c.x.SelectContext(ctx, &rows, c.q(q), jobID); err != nil {
		return nil, fmt.Errorf("job counts: %w", mapErr(err))
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.State] = r.N
	}
	return out, nil
}

// JobItems returns a page of a job's items in order, after the position
// afterSeq, optionally only those in one state.
func (c *Conn) JobItems(ctx context.Context, jobID, state string, afterSeq, limit int) ([]model.JobItem, error) {
	q := `SELECT ` + jobItemColumns + ` FROM job_items WHERE job_id = ? AND seq > ?`
	args := []any{jobID, afterSeq}
	if state != "" {
		q += ` AND state = ?`
		args = append(args, state)
	}
	q += ` ORDER BY seq LIMIT ?`
	args = append(args, limit)
	var is []model.JobItem
	if err := c.x.SelectContext(ctx, &is, c.q(q), args...); err != nil {
		return nil, fmt.Errorf("job items: %w", mapErr(err))
	}
	return is, nil
}

// ClaimJobItems gives a worker up to limit pending items, oldest job
// first, under a lease that ends at until: each becomes 'claimed' by owner
// and counts one more attempt. On PostgreSQL the candidate rows are
// selected FOR UPDATE SKIP LOCKED, so two workers claiming at once take
// different items and neither waits; on SQLite the single writer runs one
// claim at a time. Either way an item is claimed by one worker only.
func (c *Conn) ClaimJobItems(ctx context.Context, owner string, now, until time.Time, limit int) ([]model.JobItem, error) {
	q := `
		UPDATE job_items SET state = ?, lease_owner = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
		WHERE id IN (
			SELECT id FROM job_items WHERE state = 'pending' ORDER BY job_id, seq LIMIT ?` + c.s.dialect.skipLocked + `)
		RETURNING ` + jobItemColumns
	// 'pending' is written out, not bound, so that the planners can use
	// the partial index of open items (job_items_open_idx).
	var is []model.JobItem
	if err := c.x.SelectContext(ctx, &is, c.q(q), model.ItemClaimed, owner, c.ts(until), c.ts(now), limit); err != nil {
		return nil, fmt.Errorf("claim job items: %w", mapErr(err))
	}
	sort.Slice(is, func(a, b int) bool {
		if is[a].JobID != is[b].JobID {
			return is[a].JobID < is[b].JobID
		}
		return is[a].Seq < is[b].Seq
	})
	return is, nil
}

// JobItemChange moves one item from a state its owner holds to the next.
type JobItemChange struct {
	ID, Owner, From, To string
	CardID, Detail      string     // kept when empty
	LeaseUntil          *time.Time // a new end of the lease; kept when nil
	Now                 time.Time
}

// SetJobItemState applies a change as a compare-and-set on the item's
// state and owner: when another worker took the item over (its lease ran
// out) nothing is written and the error is ErrConflict, so a worker that
// lost an item does not go on to send its e-mail.
func (c *Conn) SetJobItemState(ctx context.Context, ch JobItemChange) error {
	q := `
		UPDATE job_items SET state = ?, updated_at = ?,
			card_id = CASE WHEN ? = '' THEN card_id ELSE ? END,
			detail = CASE WHEN ? = '' THEN detail ELSE ? END`
	args := []any{ch.To, c.ts(ch.Now), ch.CardID, ch.CardID, ch.Detail, ch.Detail}
	if ch.LeaseUntil != nil {
		q += `, lease_until = ?`
		args = append(args, c.ts(*ch.LeaseUntil))
	}
	q += ` WHERE id = ? AND state = ? AND lease_owner = ?`
	args = append(args, ch.ID, ch.From, ch.Owner)
	if ch.LeaseUntil != nil {
		// Only a lease still held can be renewed: once it ran out, the
		// item may be another worker's.
		q += ` AND lease_until >= ?`
		args = append(args, c.ts(ch.Now))
	}
	res, err := c.x.ExecContext(ctx, c.q(q), args...)
	if err != nil {
		return fmt.Errorf("set job item state: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("job item %s is no longer %s of %s: %w", ch.ID, ch.From, ch.Owner, model.ErrConflict)
	}
	return nil
}

// ReleaseExpiredClaims returns to 'pending' the claimed items whose lease
// ran out (their worker stopped before sending anything), or marks them
// failed once they used maxAttempts. It returns how many were released.
func (c *Conn) ReleaseExpiredClaims(ctx context.Context, now time.Time, maxAttempts int) (int, error) {
	const qFail = `
		UPDATE job_items SET state = ?, detail = 'gave_up', lease_owner = '', updated_at = ?
		WHERE state = 'claimed' AND lease_until < ? AND attempts >= ?`
	if _, err := c.x.ExecContext(ctx, c.q(qFail), model.ItemFailed, c.ts(now), c.ts(now), maxAttempts); err != nil {
		return 0, fmt.Errorf("fail expired claims: %w", mapErr(err))
	}
	const q = `
		UPDATE job_items SET state = ?, lease_owner = '', updated_at = ?
		WHERE state = 'claimed' AND lease_until < ?`
	res, err := c.x.ExecContext(ctx, c.q(q), model.ItemPending, c.ts(now), c.ts(now))
	if err != nil {
		return 0, fmt.Errorf("release expired claims: %w", mapErr(err))
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// ExpiredSends lists items left in 'sending' whose lease ran out: their
// worker stopped while handing over the e-mail, so whether it went is not
// known here.
func (c *Conn) ExpiredSends(ctx context.Context, now time.Time, limit int) ([]model.JobItem, error) {
	const q = `SELECT ` + jobItemColumns + ` FROM job_items WHERE state = 'sending' AND lease_until < ? ORDER BY job_id, seq LIMIT ?`
	var is []model.JobItem
	if err := c.x.SelectContext(ctx, &is, c.q(q), c.ts(now), limit); err != nil {
		return nil, fmt.Errorf("expired sends: %w", mapErr(err))
	}
	return is, nil
}

// ResolveExpiredSend settles an expired 'sending' item once: to the state
// to (sent, unknown, or pending when the mailer confirms nothing left), as
// a compare-and-set on the old owner and an expired lease, so that of two
// workers resolving it one wins and the other gets ErrConflict.
func (c *Conn) ResolveExpiredSend(ctx context.Context, it model.JobItem, to, detail string, now time.Time) error {
	const q = `
		UPDATE job_items SET state = ?, detail = ?, lease_owner = CASE WHEN ? = 'pending' THEN '' ELSE lease_owner END, updated_at = ?
		WHERE id = ? AND state = ? AND lease_owner = ? AND lease_until < ?`
	res, err := c.x.ExecContext(ctx, c.q(q), to, detail, to, c.ts(now), it.ID, model.ItemSending, it.LeaseOwner, c.ts(now))
	if err != nil {
		return fmt.Errorf("resolve expired send: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("job item %s already resolved: %w", it.ID, model.ErrConflict)
	}
	return nil
}

// FinishJobs marks done the running jobs that have no open item left and
// returns their ids.
func (c *Conn) FinishJobs(ctx context.Context, now time.Time) ([]string, error) {
	const q = `
		UPDATE jobs SET status = ?, finished_at = ?
		WHERE status = ? AND NOT EXISTS (
			SELECT 1 FROM job_items i WHERE i.job_id = jobs.id AND i.state IN ('pending', 'claimed', 'sending'))
		RETURNING id`
	var ids []string
	if err := c.x.SelectContext(ctx, &ids, c.q(q), model.JobDone, c.ts(now), model.JobRunning); err != nil {
		return nil, fmt.Errorf("finish jobs: %w", mapErr(err))
	}
	return ids, nil
}

// CancelJob stops a running job: its pending items are cancelled; items a
// worker holds finish. ErrConflict when the job is no longer running.
func (c *Conn) CancelJob(ctx context.Context, id string, now time.Time) error {
	if c.tx == nil {
		return c.s.InTx(ctx, func(tx *Tx) error { return tx.CancelJob(ctx, id, now) })
	}
	const q = `UPDATE jobs SET status = ?, finished_at = ? WHERE id = ? AND status = ?`
	res, err := c.x.ExecContext(ctx, c.q(q), model.JobCancelled, c.ts(now), id, model.JobRunning)
	if err != nil {
		return fmt.Errorf("cancel job: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := c.Job(ctx, id); err != nil {
			return err
		}
		return fmt.Errorf("job %s is not running: %w", id, model.ErrConflict)
	}
	const qItems = `UPDATE job_items SET state = ?, updated_at = ? WHERE job_id = ? AND state = ?`
	if _, err := c.x.ExecContext(ctx, c.q(qItems), model.ItemCancelled, c.ts(now), id, model.ItemPending); err != nil {
		return fmt.Errorf("cancel job items: %w", mapErr(err))
	}
	return nil
}

// MembersNotEnrolled lists active members whose active card was issued
// before the cutoff and never enrolled: who a reminder is for.
func (c *Conn) MembersNotEnrolled(ctx context.Context, issuedBefore time.Time, limit int) ([]string, error) {
	const q = `
		SELECT m.id FROM members m JOIN cards c ON c.member_id = m.id
		WHERE m.status = 'active' AND c.status = 'active' AND c.enrolled_at IS NULL AND c.issued_at < ?
		ORDER BY m.employee_no LIMIT ?`
	var ids []string
	if err := c.x.SelectContext(ctx, &ids, c.q(q), c.ts(issuedBefore), limit); err != nil {
		return nil, fmt.Errorf("members not enrolled: %w", mapErr(err))
	}
	return ids, nil
}

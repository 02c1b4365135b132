package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
)

const auditColumns = `id, at, actor_type, actor_id, actor_name, action, target_type, target_id, before_json, after_json, request_id`

// InsertAudit appends audit entries; there is no update or delete.
func (c *Conn) InsertAudit(ctx context.Context, es ...model.AuditEntry) error {
	const batch = 500
	for start := 0; start < len(es); start += batch {
		end := min(start+batch, len(es))
		var b strings.Builder
		b.WriteString(`INSERT INTO audit_log (` + auditColumns + `) VALUES `)
		args := make([]any, 0, (end-start)*11)
		for i, e := range es[start:end] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, e.ID, c.ts(e.At), e.ActorType, e.ActorID, e.ActorName, e.Action,
				e.TargetType, e.TargetID, e.Before, e.After, e.RequestID)
		}
		if _, err := c.x.ExecContext(ctx, c.q(b.String()), args...); err != nil {
			return fmt.Errorf("insert audit: %w", mapErr(err))
		}
	}
	return nil
}

// AuditFilter narrows ListAudit; empty fields match everything.
type AuditFilter struct {
	ActorID    string
	TargetType string
	TargetID   string
	Action     string
	Since      time.Time
	Until      time.Time
	Before     string // cursor: entries with id below this, by time then id
	Limit      int
}

// ListAudit returns audit entries, newest first.
func (c *Conn) ListAudit(ctx context.Context, f AuditFilter) ([]model.AuditEntry, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.ActorID != "" {
		add("actor_id = ?", f.ActorID)
	}
	if f.TargetType != "" {
		add("target_type = ?", f.TargetType)
	}
	if f.TargetID != "" {
		add("target_id = ?", f.TargetID)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if !f.Since.IsZero() {
		add("at >= ?", c.ts(f.Since))
	}
	if !f.Until.IsZero() {
		add("at < ?", c.ts(f.Until))
	}
	if f.Before != "" {
		add("id < ?", f.Before)
	}
	q := `SELECT ` + auditColumns + ` FROM audit_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, f.Limit)
	var es []model.AuditEntry
	if err := c.x.SelectContext(ctx, &es, c.q(q), args...); err != nil {
		return nil, fmt.Errorf("list audit: %w", mapErr(err))
	}
	return es, nil
}

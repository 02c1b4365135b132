package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/textfold"
)

const memberColumns = `id, employee_no, family_name, given_name, family_name_kana, given_name_kana,
	email, tier, departed_on, locale, status, status_reason, created_at, updated_at`

// CreateMember inserts a member; a taken employee number is ErrConflict.
func (c *Conn) CreateMember(ctx context.Context, m *model.Member) error {
	const q = `
		INSERT INTO members (` + memberColumns + `, search_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	_, err := c.x.ExecContext(ctx, c.q(q), m.ID, m.EmployeeNo, m.FamilyName, m.GivenName,
		m.FamilyNameKana, m.GivenNameKana, m.Email, m.Tier, m.DepartedOn, m.Locale,
		string(m.Status), m.StatusReason, c.ts(m.CreatedAt), c.ts(m.UpdatedAt), memberSearchKey(m))
	if err != nil {
		return fmt.Errorf("insert member: %w", mapErr(err))
	}
	return nil
}

// UpsertMembers writes many members in multi-row statements, inserting new
// employee numbers and updating the fields of existing ones. Status and
// creation time of existing members are kept. Every instance is told to
// forget what it cached of members (tier, names and locale may change).
func (c *Conn) UpsertMembers(ctx context.Context, ms []model.Member) error {
	const batch = 500
	for start := 0; start < len(ms); start += batch {
		end := min(start+batch, len(ms))
		var b strings.Builder
		b.WriteString(`INSERT INTO members (` + memberColumns + `, search_key) VALUES `)
		args := make([]any, 0, (end-start)*15)
		for i, m := range ms[start:end] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, m.ID, m.EmployeeNo, m.FamilyName, m.GivenName, m.FamilyNameKana,
				m.GivenNameKana, m.Email, m.Tier, m.DepartedOn, m.Locale, string(m.Status),
				m.StatusReason, c.ts(m.CreatedAt), c.ts(m.UpdatedAt), memberSearchKey(&m))
		}
		b.WriteString(`
			ON CONFLICT (employee_no) DO UPDATE SET
				family_name = excluded.family_name, given_name = excluded.given_name,
				family_name_kana = excluded.family_name_kana, given_name_kana = excluded.given_name_kana,
				email = excluded.email, tier = excluded.tier, departed_on = excluded.departed_on,
				locale = excluded.locale, updated_at = excluded.updated_at, search_key = excluded.search_key`)
		if _, err := c.x.ExecContext(ctx, c.q(b.String()), args...); err != nil {
			return fmt.Errorf("upsert members: %w", mapErr(err))
		}
	}
	if len(ms) == 0 {
		return nil
	}
	// One notice for the whole import: which rows were updates rather than
	// inserts is not known here, and a tier or name may have changed in any.
	return c.publish(ctx, EventMembers, "")
}

// MembersByEmployeeNo returns the members with these employee numbers.
func (c *Conn) MembersByEmployeeNo(ctx context.Context, nos []string) (map[string]model.Member, error) {
	out := make(map[string]model.Member, len(nos))
	const batch = 1000
	for start := 0; start < len(nos); start += batch {
		end := min(start+batch, len(nos))
		q, args, err := sqlx.In(`SELECT `+memberColumns+` FROM members WHERE employee_no IN (?)`, nos[start:end])
		if err != nil {
			return nil, fmt.Errorf("members by employee no: %w", err)
		}
		var ms []model.Member
		if err := c.x.SelectContext(ctx, &ms, c.q(q), args...); err != nil {
			return nil, fmt.Errorf("members by employee no: %w", mapErr(err))
		}
		for _, m := range ms {
			out[m.EmployeeNo] = m
		}
	}
	return out, nil
}

// MembersByID returns the members with these ids (those that exist), for
// lists that name many members at once, such as a job's results.
func (c *Conn) MembersByID(ctx context.Context, ids []string) (map[string]model.Member, error) {
	out := make(map[string]model.Member, len(ids))
	const batch = 1000
	for start := 0; start < len(ids); start += batch {
		end := min(start+batch, len(ids))
		q, args, err := sqlx.In(`SELECT `+memberColumns+` FROM members WHERE id IN (?)`, ids[start:end])
		if err != nil {
			return nil, fmt.Errorf("members by id: %w", err)
		}
		var ms []model.Member
		if err := c.x.SelectContext(ctx, &ms, c.q(q), args...); err != nil {
			return nil, fmt.Errorf("members by id: %w", mapErr(err))
		}
		for _, m := range ms {
			out[m.ID] = m
		}
	}
	return out, nil
}

// Member returns one member.
func (c *Conn) Member(ctx context.Context, id string) (*model.Member, error) {
	const q = `SELECT ` + memberColumns + ` FROM members WHERE id = ?`
	var m model.Member
	if err := c.x.GetContext(ctx, &m, c.q(q), id); err != nil {
		return nil, fmt.Errorf("member %s: %w", id, mapErr(err))
	}
	return &m, nil
}

// MemberFilter narrows ListMembers.
type MemberFilter struct {
	Query  string // name, kana, employee number or e-mail; partial, folded by textfold.Key
	Status string
	Tier   string
	After  string // cursor: the last employee number of the previous page
	Limit  int
}

// ListMembers returns a page of members ordered by employee number. The
// query is folded like the stored search key (variant kanji, kana, width,
// case, spaces), so 高橋 finds 髙橋 and ﾀｶﾊｼ finds タカハシ.
func (c *Conn) ListMembers(ctx context.Context, f MemberFilter) ([]model.Member, error) {
	var where []string
	var args []any
	if key := textfold.Key(f.Query); key != "" {
		where = append(where, `search_key LIKE ? ESCAPE '\'`)
		args = append(args, "%"+escapeLike(key)+"%")
	}
	if f.Status != "" {
		where = append(where, "status = ?")
		args = append(args, f.Status)
	}
	if f.Tier != "" {
		where = append(where, "tier = ?")
		args = append(args, f.Tier)
	}
	if f.After != "" {
		where = append(where, "employee_no > ?")
		args = append(args, f.After)
	}
	q := `SELECT ` + memberColumns + ` FROM members`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY employee_no LIMIT ?"
	args = append(args, f.Limit)
	var ms []model.Member
	if err := c.x.SelectContext(ctx, &ms, c.q(q), args...); err != nil {
		return nil, fmt.Errorf("list members: %w", mapErr(err))
	}
	return ms, nil
}

// CountMembers counts members by status, for the console.
func (c *Conn) CountMembers(ctx context.Context) (map[string]int, error) {
	const q = `SELECT status, COUNT(*) AS n FROM members GROUP BY status`
	var rows []struct {
		Status string `db:"status"`
		N      int    `db:"n"`
	}
	if err := c.x.SelectContext(ctx, &rows, q); err != nil {
		return nil, fmt.Errorf("count members: %w", mapErr(err))
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}

// LockMember reads a member and holds its row until the transaction ends:
// every change of the member's status, cards or guest-pass quota takes this
// lock first, so they happen one after another and each sees what the
// previous one committed (PostgreSQL READ COMMITTED included). The update
// changes nothing; it is the portable row lock (SQLite's transactions hold
// the whole database already). Call it inside a transaction.
func (c *Conn) LockMember(ctx context.Context, id string) (*model.Member, error) {
	const q = `UPDATE members SET status = status WHERE id = ? RETURNING ` + memberColumns
	var m model.Member
	if err := c.x.GetContext(ctx, &m, c.q(q), id); err != nil {
		return nil, fmt.Errorf("lock member %s: %w", id, mapErr(err))
	}
	return &m, nil
}

// SetMemberStatus changes a member's status from one value to another and
// tells every instance. It is a compare-and-set: when the status is no
// longer from (another change won), nothing is written and the error is
// ErrConflict, so an audit entry never claims a "before" that was not there.
func (c *Conn) SetMemberStatus(ctx context.Context, id string, from, to model.MemberStatus, reason string, now time.Time) error {
	if c.tx == nil { // the status list entries commit with the change
		return c.s.InTx(ctx, func(tx *Tx) error { return tx.SetMemberStatus(ctx, id, from, to, reason, now) })
	}
	const q = `UPDATE members SET status = ?, status_reason = ?, updated_at = ? WHERE id = ? AND status = ?`
	res, err := c.x.ExecContext(ctx, c.q(q), string(to), reason, c.ts(now), id, string(from))
	if err != nil {
		return fmt.Errorf("set member status: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := c.Member(ctx, id); err != nil {
			return err
		}
		return fmt.Errorf("member %s is no longer %s: %w", id, from, model.ErrConflict)
	}
	if err := c.recordMemberCards(ctx, id, string(to), now); err != nil {
		return err
	}
	return c.publish(ctx, EventMember, id)
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// EraseMember removes a member's personal data on request (APPI): names,
// kana, e-mail and employee number are overwritten, cards revoked and their
// secrets dropped, guest passes cancelled. Verification and redemption rows
// keep only the opaque member id, so aggregate reports stay intact.
func (c *Conn) EraseMember(ctx context.Context, id string, now time.Time) error {
	short := id
	if len(short) > 8 {
		short = short[:8]
	}
	const qMember = `
		UPDATE members SET employee_no = ?, family_name = ?, given_name = ?, family_name_kana = '',
			given_name_kana = '', email = ?, status = 'revoked', status_reason = 'erased on request', updated_at = ?,
			search_key = ?
		WHERE id = ?`
	erased := model.Member{EmployeeNo: "erased-" + id, FamilyName: "(erased)", GivenName: "-", Email: "erased-" + short + "@invalid"}
	res, err := c.x.ExecContext(ctx, c.q(qMember), erased.EmployeeNo, erased.FamilyName, erased.GivenName, erased.Email,
		c.ts(now), memberSearchKey(&erased), id)
	if err != nil {
		return fmt.Errorf("erase member: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("member %s: %w", id, model.ErrNotFound)
	}
	const qCards = `
		UPDATE cards SET status = 'revoked', revoked_at = COALESCE(revoked_at, ?), totp_secret_enc = ?,
			wallet_token_hash = NULL WHERE member_id = ?`
	if _, err := c.x.ExecContext(ctx, c.q(qCards), c.ts(now), []byte{}, id); err != nil {
		return fmt.Errorf("erase cards: %w", mapErr(err))
	}
	const qPasses = `UPDATE guest_passes SET status = 'cancelled' WHERE member_id = ?`
	if _, err := c.x.ExecContext(ctx, c.q(qPasses), id); err != nil {
		return fmt.Errorf("erase guest passes: %w", mapErr(err))
	}
	const qAudit = `UPDATE audit_log SET before_json = '{"erased":true}', after_json = '{"erased":true}' WHERE target_type = 'member' AND target_id = ?`
	if _, err := c.x.ExecContext(ctx, c.q(qAudit), id); err != nil {
		return fmt.Errorf("erase audit images: %w", mapErr(err))
	}
	if err := c.recordStatus(ctx, StatusSubjectCard, statusRevoked, now, `expires_at FROM cards WHERE member_id = ?`, id); err != nil {
		return err
	}
	if err := c.recordGuestCancelled(ctx, "", id, now); err != nil {
		return err
	}
	return c.publish(ctx, EventMember, id)
}

// MemberTiers lists the tiers members have, for filters and perk forms.
func (c *Conn) MemberTiers(ctx context.Context) ([]string, error) {
	const q = `SELECT DISTINCT tier FROM members ORDER BY tier LIMIT 100`
	var ts []string
	if err := c.x.SelectContext(ctx, &ts, q); err != nil {
		return nil, fmt.Errorf("member tiers: %w", mapErr(err))
	}
	return ts, nil
}

package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
)

// CodeUse is the first valid use of a code text.
type CodeUse struct {
	CodeHash       string    `db:"code_hash"`
	VerificationID string    `db:"verification_id"`
	VenueID        string    `db:"venue_id"`
	VenueName      string    `db:"venue_name"`
	At             time.Time `db:"at"`
}

// ClaimCodes inserts first-use rows for codes, ignoring ones already taken
// and not yet expired, and returns the hashes this call claimed. The
// primary key decides, so two instances that see the same code at once
// cannot both claim it; an expired claim is taken over.
func (c *Conn) ClaimCodes(ctx context.Context, uses []CodeUse, expires []time.Time) (map[string]bool, error) {
	claimed := make(map[string]bool, len(uses))
	if len(uses) == 0 {
		return claimed, nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO code_uses (code_hash, verification_id, venue_id, at, expires_at) VALUES `)
	args := make([]any, 0, len(uses)*5)
	for i, u := range uses {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?)")
		args = append(args, u.CodeHash, u.VerificationID, u.VenueID, c.ts(u.At), c.ts(expires[i]))
	}
	b.WriteString(` ON CONFLICT (code_hash) DO UPDATE SET verification_id = excluded.verification_id,
		venue_id = excluded.venue_id, at = excluded.at, expires_at = excluded.expires_at
		WHERE code_uses.expires_at <= excluded.at RETURNING code_hash`)
	var hashes []string
	if err := c.x.SelectContext(ctx, &hashes, c.q(b.String()), args...); err != nil {
		return nil, fmt.Errorf("claim codes: %w", mapErr(err))
	}
	for _, h := range hashes {
		claimed[h] = true
	}
	return claimed, nil
}

// CodeUses returns the first uses of these code hashes, with venue names.
func (c *Conn) CodeUses(ctx context.Context, hashes []string) (map[string]CodeUse, error) {
	out := make(map[string]CodeUse, len(hashes))
	if len(hashes) == 0 {
		return out, nil
	}
	ph := strings.TrimSuffix(strings.Repeat("?, ", len(hashes)), ", ")
	q := `SELECT u.code_hash, u.verification_id, u.venue_id, COALESCE(v.name, '') AS venue_name, u.at
		FROM code_uses u LEFT JOIN venues v ON v.id = u.venue_id
		WHERE u.code_hash IN (` + ph + `)`
	args := make([]any, len(hashes))
	for i, h := range hashes {
		args[i] = h
	}
	var rows []CodeUse
	if err := c.x.SelectContext(ctx, &rows, c.q(q), args...); err != nil {
		return nil, fmt.Errorf("code uses: %w", mapErr(err))
	}
	for _, r := range rows {
		out[r.CodeHash] = r
	}
	return out, nil
}

// InsertVerifications appends verifications in one multi-row statement.
func (c *Conn) InsertVerifications(ctx context.Context, vs []model.Verification) error {
	if len(vs) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO verifications (id, at, partner_id, venue_id, api_key_id, kind, card_id,
		guest_pass_id, member_id, code_hash, result, detail) VALUES `)
	args := make([]any, 0, len(vs)*12)
	for i, v := range vs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, v.ID, c.ts(v.At), v.PartnerID, v.VenueID, v.APIKeyID, v.Kind, v.CardID,
			v.GuestPassID, v.MemberID, v.CodeHash, v.Result, v.Detail)
	}
	if _, err := c.x.ExecContext(ctx, c.q(b.String()), args...); err != nil {
		return fmt.Errorf("insert verifications: %w", mapErr(err))
	}
	return nil
}

// Verification returns one verification.
func (c *Conn) Verification(ctx context.Context, id string) (*model.Verification, error) {
	const q = `SELECT id, at, partner_id, venue_id, api_key_id, kind, card_id, guest_pass_id, member_id,
		code_hash, result, detail FROM verifications WHERE id = ?`
	var v model.Verification
	if err := c.x.GetContext(ctx, &v, c.q(q), id); err != nil {
		return nil, fmt.Errorf("verification %s: %w", id, mapErr(err))
	}
	return &v, nil
}

// HistoryItem is one line of a member's own history.
type HistoryItem struct {
	At          time.Time `db:"at" json:"at"`
	Result      string    `db:"result" json:"result"`
	Kind        string    `db:"kind" json:"kind"`
	VenueName   string    `db:"venue_name" json:"venue"`
	PartnerName string    `db:"partner_name" json:"partner"`
}

// MemberHistory lists a member's recent verifications with places.
func (c *Conn) MemberHistory(ctx context.Context, memberID string, limit int) ([]HistoryItem, error) {
	const q = `
		SELECT v.at, v.result, v.kind, COALESCE(ve.name, '') AS venue_name, COALESCE(p.name, '') AS partner_name
		FROM verifications v
		LEFT JOIN venues ve ON ve.id = v.venue_id
		LEFT JOIN partners p ON p.id = v.partner_id
		WHERE v.member_id = ? ORDER BY v.at DESC LIMIT ?`
	var items []HistoryItem
	if err := c.x.SelectContext(ctx, &items, c.q(q), memberID, limit); err != nil {
		return nil, fmt.Errorf("member history: %w", mapErr(err))
	}
	return items, nil
}

// PurgeBefore deletes verifications, redemptions and code uses older than a
// time (retention). Aggregates are computed from redemptions, so reports of
// purged months are gone too; the operator chooses the period.
func (c *Conn) PurgeBefore(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for _, q := range []string{
		`DELETE FROM verifications WHERE at < ?`,
		`DELETE FROM redemptions WHERE at < ?`,
		`DELETE FROM code_uses WHERE expires_at < ?`,
	} {
		res, err := c.x.ExecContext(ctx, c.q(q), c.ts(before))
		if err != nil {
			return total, fmt.Errorf("purge: %w", mapErr(err))
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}

package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"strconv"
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

// ScanRecord is one verification of a batch written by LogScans.
type ScanRecord struct {
	model.Verification
	// ClaimHash, when set, is the code_uses key this row depends on (the
	// code hash of a card scan; for a guest pass, the pass at this venue).
	// The row is written only if its batch got that claim: the claiming row
	// itself and later scans of the same code in the batch, whose result
	// was decided against the claiming row.
	ClaimHash string
	// ClaimExpires is set on the row that claims ClaimHash for its batch
	// (the first valid scan of it there).
	ClaimExpires *time.Time
}

// LogScans writes a batch of verifications at once and returns the code
// keys it claimed. Rows with ClaimExpires claim ClaimHash in code_uses
// (the primary key decides across instances; an expired claim is taken
// over); dependent rows of a code the batch did not get are not written:
// the caller decides them against the earlier use and writes them with
// InsertVerifications. On PostgreSQL this is one prepared statement (a
// data-modifying CTE over unnest()ed arrays, so the text never changes and
// is parsed and planned once per connection) in its own implicit
// transaction: one round trip and one commit per batch. On SQLite it is one
// transaction of two statements.
func (s *Store) LogScans(ctx context.Context, rows []ScanRecord) (map[string]bool, error) {
	if len(rows) == 0 {
		return map[string]bool{}, nil
	}
	if s.dialect.scanLogCTE {
		return s.logScansPostgres(ctx, rows)
	}
	var claimed map[string]bool
	err := s.InTx(ctx, func(tx *Tx) error {
		var uses []CodeUse
		var expires []time.Time
		for _, r := range rows {
			if r.ClaimExpires != nil {
				uses = append(uses, CodeUse{CodeHash: r.ClaimHash, VerificationID: r.ID, VenueID: r.VenueID, At: r.At})
				expires = append(expires, *r.ClaimExpires)
			}
		}
		var err error
		if claimed, err = tx.ClaimCodes(ctx, uses, expires); err != nil {
			return err
		}
		vs := make([]model.Verification, 0, len(rows))
		for _, r := range rows {
			if r.ClaimHash == "" || claimed[r.ClaimHash] {
				vs = append(vs, r.Verification)
			}
		}
		return tx.InsertVerifications(ctx, vs)
	})
	if err != nil {
		return nil, err
	}
	return claimed, nil
}

// logScansSQL is LogScans on PostgreSQL. Claims are inserted in code hash
// order, so two concurrent batches lock their rows in the same order.
const logScansSQL = `
WITH input AS (
	SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[],
		$7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::timestamptz[])
	AS t (id, at, partner_id, venue_id, api_key_id, kind, card_id, guest_pass_id, member_id,
		code_hash, result, detail, claim_hash, claim_expires)
), claimed AS (
	INSERT INTO code_uses (code_hash, verification_id, venue_id, at, expires_at)
	SELECT claim_hash, id, venue_id, at, claim_expires FROM input
	WHERE claim_expires IS NOT NULL ORDER BY claim_hash
	ON CONFLICT (code_hash) DO UPDATE SET verification_id = excluded.verification_id,
		venue_id = excluded.venue_id, at = excluded.at, expires_at = excluded.expires_at
		WHERE code_uses.expires_at <= excluded.at
	RETURNING code_hash
), logged AS (
	INSERT INTO verifications (id, at, partner_id, venue_id, api_key_id, kind, card_id, guest_pass_id,
		member_id, code_hash, result, detail)
	SELECT id, at, partner_id, venue_id, api_key_id, kind, card_id, guest_pass_id, member_id,
		code_hash, result, detail
	FROM input WHERE claim_hash IS NULL OR claim_hash IN (SELECT code_hash FROM claimed)
)
SELECT code_hash FROM claimed`

func (s *Store) logScansPostgres(ctx context.Context, rows []ScanRecord) (map[string]bool, error) {
	stmt, err := s.logScansStmt(ctx)
	if err != nil {
		return nil, err
	}
	var cols [14]pgArray
	for i := range cols {
		// Room for the header and n ids of 36 bytes with their lengths or
		// quotes, so that most columns never grow.
		cols[i] = pgArray{binary: s.binaryParams, elem: oidText, b: make([]byte, 0, 24+len(rows)*42)}
	}
	cols[1].elem, cols[13].elem = oidTimestamptz, oidTimestamptz
	for _, r := range rows {
		cols[0].text(r.ID)
		cols[1].time(r.At)
		cols[2].text(r.PartnerID)
		cols[3].text(r.VenueID)
		cols[4].text(r.APIKeyID)
		cols[5].text(r.Kind)
		cols[6].nullText(r.CardID)
		cols[7].nullText(r.GuestPassID)
		cols[8].nullText(r.MemberID)
		cols[9].text(r.CodeHash)
		cols[10].text(r.Result)
		cols[11].text(r.Detail)
		if r.ClaimHash != "" {
			cols[12].text(r.ClaimHash)
		} else {
			cols[12].null()
		}
		if r.ClaimExpires != nil {
			cols[13].time(*r.ClaimExpires)
		} else {
			cols[13].null()
		}
	}
	args := make([]any, len(cols))
	for i := range cols {
		args[i] = cols[i].value()
	}
	res, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("log scans: %w", mapErr(err))
	}
	defer res.Close()
	claimed := make(map[string]bool, len(rows))
	for res.Next() {
		var h string
		if err := res.Scan(&h); err != nil {
			return nil, fmt.Errorf("log scans: %w", mapErr(err))
		}
		claimed[h] = true
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("log scans: %w", mapErr(err))
	}
	return claimed, nil
}

// logScansStmt prepares logScansSQL once for the pool; database/sql
// prepares it again on each connection that runs it, and after a reconnect.
// prepMu is never held while waiting for the database: preparing waits for
// a free connection, and a transaction holding one may need prepMu.
func (s *Store) logScansStmt(ctx context.Context) (*sql.Stmt, error) {
	s.prepMu.Lock()
	stmt := s.logStmt
	s.prepMu.Unlock()
	if stmt != nil {
		return stmt, nil
	}
	stmt, err := s.db.PrepareContext(ctx, logScansSQL)
	if err != nil {
		return nil, fmt.Errorf("prepare log scans: %w", mapErr(err))
	}
	s.prepMu.Lock()
	first := s.logStmt
	if first == nil {
		s.logStmt = stmt
	}
	s.prepMu.Unlock()
	if first != nil {
		_ = stmt.Close() // another writer was first
		return first, nil
	}
	return stmt, nil
}

// Element type OIDs of the arrays LogScans sends.
const (
	oidInt4        = 23
	oidText        = 25
	oidTimestamptz = 1184
)

// pgEpochMicros is 2000-01-01 UTC, PostgreSQL's zero time, in Unix µs.
const pgEpochMicros = 946_684_800_000_000

// pgArray builds one array parameter of a batch. With lib/pq's
// binary_parameters on (the default Open sets), a []byte parameter goes in
// PostgreSQL's binary format, which the server reads without parsing or
// quoting (array_in was a visible part of its CPU per scan); otherwise the
// text form {"…","…",NULL} is sent.
type pgArray struct {
	binary bool
	elem   uint32 // element type OID, binary form only
	b      []byte
	n      int
	nulls  bool
}

// start writes the binary header (filled in by value) or the separator.
func (a *pgArray) start() {
	if a.binary {
		if a.n == 0 {
			a.b = append(a.b, make([]byte, 20)...) // ndim, flags, elem, size, lower bound
		}
	} else if a.n == 0 {
		a.b = append(a.b, '{')
	} else {
		a.b = append(a.b, ',')
	}
	a.n++
}

// text adds an element; in the text form only " and \ need escaping
// inside quotes.
func (a *pgArray) text(s string) {
	a.start()
	if a.binary {
		a.b = binary.BigEndian.AppendUint32(a.b, uint32(len(s)))
		a.b = append(a.b, s...)
		return
	}
	a.b = append(a.b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			a.b = append(a.b, '\\')
		}
		a.b = append(a.b, s[i])
	}
	a.b = append(a.b, '"')
}

func (a *pgArray) nullText(s *string) {
	if s == nil {
		a.null()
		return
	}
	a.text(*s)
}

func (a *pgArray) null() {
	a.start()
	a.nulls = true
	if a.binary {
		a.b = binary.BigEndian.AppendUint32(a.b, 0xFFFFFFFF) // length -1
		return
	}
	a.b = append(a.b, "NULL"...)
}

func (a *pgArray) time(t time.Time) {
	a.start()
	if a.binary {
		a.b = binary.BigEndian.AppendUint32(a.b, 8)
		a.b = binary.BigEndian.AppendUint64(a.b, uint64(t.UnixMicro()-pgEpochMicros))
		return
	}
	a.b = append(a.b, '"')
	a.b = t.UTC().AppendFormat(a.b, "2006-01-02 15:04:05.999999Z07:00")
	a.b = append(a.b, '"')
}

// int adds a 32-bit integer element.
func (a *pgArray) int(n int) {
	a.start()
	if a.binary {
		a.b = binary.BigEndian.AppendUint32(a.b, 4)
		a.b = binary.BigEndian.AppendUint32(a.b, uint32(int32(n)))
		return
	}
	a.b = strconv.AppendInt(a.b, int64(n), 10)
}

// value is the finished parameter: []byte (binary) or string (text).
func (a *pgArray) value() any {
	if !a.binary {
		if a.n == 0 {
			return "{}"
		}
		return string(append(a.b, '}'))
	}
	if a.n == 0 {
		// No dimensions: ndim 0, no nulls, the element type.
		return binary.BigEndian.AppendUint32(make([]byte, 8), a.elem)
	}
	binary.BigEndian.PutUint32(a.b[0:], 1)
	if a.nulls {
		binary.BigEndian.PutUint32(a.b[4:], 1)
	}
	binary.BigEndian.PutUint32(a.b[8:], a.elem)
	binary.BigEndian.PutUint32(a.b[12:], uint32(a.n))
	binary.BigEndian.PutUint32(a.b[16:], 1)
	return a.b
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

// MemberHistory lists a member's recent verifications (scans) with places,
// for the member's data export; the wallet lists uses (MemberUses) instead.
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
//
// On PostgreSQL the scan log is partitioned by month (migration 00014):
// whole months older than the cut-off are dropped, the DELETE below then
// trims only the partition that holds the cut-off, and the partitions of
// the coming months are created (see log_partitions.go).
func (c *Conn) PurgeBefore(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	if c.s.dialect.name == Postgres && c.tx == nil {
		if err := c.s.EnsureLogPartitions(ctx, time.Now()); err != nil {
			return 0, fmt.Errorf("purge: %w", err)
		}
		n, err := c.s.dropLogPartitions(ctx, before)
		total += n
		if err != nil {
			return total, fmt.Errorf("purge: %w", err)
		}
	}
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

package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/lib/pq"

	"github.com/alumnipass/alumnipass/internal/model"
)

// RedemptionInsert is one row of InsertRedemptionsIfStanding: the
// redemption and the standing it was granted on.
type RedemptionInsert struct {
	R *model.Redemption
	S Standing
}

// insertRedemptionsSQL is InsertRedemptionIfStanding for many rows at once:
// each row is written only if its card and member are still active with
// the tier granted, its perk still offered with the rules read and its
// guest pass (if any) not cancelled, re-checked in the statement that
// writes, as for one row. A row whose unique key is
// taken (by the table or by an earlier row of the batch) is skipped, not an
// error, so that one duplicate does not fail its neighbours.
const insertRedemptionsSQL = `
INSERT INTO redemptions (` + redemptionColumns + `)
SELECT t.id, t.verification_id, t.idempotency_key, t.api_key_id, t.perk_id, t.partner_id, t.venue_id,
	t.member_id, t.card_id, t.guest_pass_id, CAST(t.party_size AS INTEGER), t.at
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
	$8::text[], $9::text[], $10::text[], $11::text[], $12::timestamptz[], $13::text[], $14::text[],
	$15::text[], $16::int[], $17::int[], $18::int[], $19::text[], $20::text[])
	AS t (id, verification_id, idempotency_key, api_key_id, perk_id, partner_id, venue_id,
	member_id, card_id, guest_pass_id, party_size, at, standing_card_id, tier,
	k_tiers, k_companions, k_day, k_month, k_days, k_hours)
WHERE EXISTS (SELECT 1 FROM cards c JOIN members m ON m.id = c.member_id
              WHERE c.id = t.standing_card_id AND c.status = 'active' AND m.id = t.member_id AND m.status = 'active'
                AND m.tier = t.tier)
  AND EXISTS (SELECT 1 FROM perks k WHERE k.id = t.perk_id AND k.active
              AND k.eligible_tiers = t.k_tiers AND k.companions = t.k_companions AND k.limit_per_day = t.k_day
              AND k.limit_per_month = t.k_month AND k.days = t.k_days AND k.hours = t.k_hours)
  AND (t.guest_pass_id IS NULL OR EXISTS (SELECT 1 FROM guest_passes g WHERE g.id = t.guest_pass_id AND g.status = 'active'))
ON CONFLICT DO NOTHING
RETURNING id`

// InsertRedemptionsIfStanding writes a batch of redemptions, each as
// InsertRedemptionIfStanding would, and returns each row's answer (nil:
// written). On PostgreSQL the batch is one prepared statement and one
// commit; the rows it did not write are tried again one at a time, which
// gives each its exact error (ErrStandingChanged, or ErrConflict for a
// taken key); a statement the server refuses as a whole (a row it cannot
// store) wrote nothing, so then every row is tried alone. On SQLite, whose
// single writer serialises them anyway, the rows are written one at a
// time. The error is the batch's own (the database did not answer): then
// no row's answer is known.
func (s *Store) InsertRedemptionsIfStanding(ctx context.Context, rows []RedemptionInsert) ([]error, error) {
	if len(rows) == 1 || !s.dialect.scanLogCTE {
		return s.insertRedemptionsOneByOne(ctx, rows)
	}
	errs := make([]error, len(rows))
	stmt, err := s.prepared(ctx, insertRedemptionsSQL)
	if err != nil {
		return nil, fmt.Errorf("insert redemptions: %w", err)
	}
	var cols [20]pgArray
	for i := range cols {
		cols[i] = pgArray{binary: s.binaryParams, elem: oidText, b: make([]byte, 0, 24+len(rows)*42)}
	}
	cols[11].elem = oidTimestamptz
	for _, i := range []int{15, 16, 17} {
		cols[i].elem = oidInt4
	}
	for _, in := range rows {
		r := in.R
		cols[0].text(r.ID)
		cols[1].text(r.VerificationID)
		cols[2].text(r.IdempotencyKey)
		cols[3].text(r.APIKeyID)
		cols[4].text(r.PerkID)
		cols[5].text(r.PartnerID)
		cols[6].text(r.VenueID)
		cols[7].text(r.MemberID)
		cols[8].nullText(r.CardID)
		cols[9].nullText(r.GuestPassID)
		cols[10].text(strconv.Itoa(r.PartySize))
		cols[11].time(r.At)
		cols[12].text(in.S.CardID)
		cols[13].text(in.S.Tier)
		k := in.S.Perk
		cols[14].text(k.EligibleTiers)
		cols[15].int(k.Companions)
		cols[16].int(k.LimitPerDay)
		cols[17].int(k.LimitPerMonth)
		cols[18].text(k.Days)
		cols[19].text(k.Hours)
	}
	args := make([]any, len(cols))
	for i := range cols {
		args[i] = cols[i].value()
	}
	res, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		var pqErr *pq.Error
		if mapped := mapErr(err); isUnavailable(mapped) || !errors.As(err, &pqErr) {
			return nil, fmt.Errorf("insert redemptions: %w", mapped)
		}
		// The server refused the statement (a row it could not take,
		// which ON CONFLICT does not cover), so its transaction wrote
		// nothing: each row is tried alone and keeps its own answer, and
		// one bad row does not fail its neighbours.
		return s.insertRedemptionsOneByOne(ctx, rows)
	}
	written := make(map[string]bool, len(rows))
	for res.Next() {
		var id string
		if err := res.Scan(&id); err != nil {
			res.Close()
			return nil, fmt.Errorf("insert redemptions: %w", mapErr(err))
		}
		written[id] = true
	}
	res.Close()
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("insert redemptions: %w", mapErr(err))
	}
	for i, in := range rows {
		if written[in.R.ID] {
			continue
		}
		// Not written: its exact answer, from the one-row statement.
		errs[i] = s.InsertRedemptionIfStanding(ctx, in.R, in.S)
		if isUnavailable(errs[i]) {
			return nil, errs[i]
		}
	}
	return errs, nil
}

// insertRedemptionsOneByOne writes each row by the one-row statement.
func (s *Store) insertRedemptionsOneByOne(ctx context.Context, rows []RedemptionInsert) ([]error, error) {
	errs := make([]error, len(rows))
	for i, r := range rows {
		errs[i] = s.InsertRedemptionIfStanding(ctx, r.R, r.S)
		if isUnavailable(errs[i]) {
			return nil, errs[i]
		}
	}
	return errs, nil
}

// isUnavailable: the database did not answer, so nothing after can be
// known either.
func isUnavailable(err error) bool { return errors.Is(err, model.ErrUnavailable) }

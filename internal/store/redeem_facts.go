package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
)

// ErrStandingChanged is InsertRedemptionIfStanding's refusal: between the
// read of the facts and the insert, the card, the membership, the guest
// pass or the perk stopped being active, or the member's tier or the
// perk's rules changed.
var ErrStandingChanged = errors.New("card, membership, guest pass or perk changed since it was read")

// RedemptionFacts is everything a redemption decides on, read in one
// statement: the earlier redemption with the same idempotency key, the
// verification, the perk, and the member, card and guest pass the
// verification names. A nil field is a row that does not exist. Member,
// Card and Pass carry only the columns a redemption looks at.
type RedemptionFacts struct {
	Prev         *model.Redemption
	Verification *model.Verification
	Perk         *model.Perk
	Member       *model.Member
	Card         *model.Card
	Pass         *model.GuestPass
}

// factsRow is the flat row of RedemptionFacts; every column can be NULL
// (outer joins on a one-row relation).
type factsRow struct {
	RID      *string    `db:"r_id"`
	RVerif   *string    `db:"r_verification_id"`
	RPerk    *string    `db:"r_perk_id"`
	RParty   *int       `db:"r_party_size"`
	RAt      *time.Time `db:"r_at"`
	VID      *string    `db:"v_id"`
	VAt      *time.Time `db:"v_at"`
	VPartner *string    `db:"v_partner_id"`
	VResult  *string    `db:"v_result"`
	VCard    *string    `db:"v_card_id"`
	VPass    *string    `db:"v_guest_pass_id"`
	VMember  *string    `db:"v_member_id"`
	KID      *string    `db:"k_id"`
	KPartner *string    `db:"k_partner_id"`
	KTiers   *string    `db:"k_eligible_tiers"`
	KComp    *int       `db:"k_companions"`
	KDay     *int       `db:"k_limit_per_day"`
	KMonth   *int       `db:"k_limit_per_month"`
	KDays    *string    `db:"k_days"`
	KHours   *string    `db:"k_hours"`
	KActive  *bool      `db:"k_active"`
	MID      *string    `db:"m_id"`
	MTier    *string    `db:"m_tier"`
	MStatus  *string    `db:"m_status"`
	GID      *string    `db:"g_id"`
	GCard    *string    `db:"g_card_id"`
	GParty   *int       `db:"g_party_size"`
	GStatus  *string    `db:"g_status"`
	CID      *string    `db:"c_id"`
	CStatus  *string    `db:"c_status"`
	CComp    *int       `db:"c_companions"`
}

// RedemptionFacts reads what a redemption needs in one round trip instead
// of one per table. The verification is read by a LIMIT 1 subquery: the
// partitioned scan log's key is (id, at), so the planner does not know that
// an id names one row, and before the month's partition is analyzed it
// expected hundreds and chose hash joins over whole members and cards
// tables (40 ms instead of 0.3 ms; docs/benchmarks.md). It takes no locks: InsertRedemptionIfStanding re-checks
// the standing in the statement that writes, and the guarded updates of
// perk_usage and guest_passes count atomically.
func (c *Conn) RedemptionFacts(ctx context.Context, apiKeyID, idemKey, verificationID, perkID string) (*RedemptionFacts, error) {
	const q = `
		SELECT r.id AS r_id, r.verification_id AS r_verification_id, r.perk_id AS r_perk_id, r.party_size AS r_party_size, r.at AS r_at,
		       v.id AS v_id, v.at AS v_at, v.partner_id AS v_partner_id, v.result AS v_result, v.card_id AS v_card_id,
		       v.guest_pass_id AS v_guest_pass_id, v.member_id AS v_member_id,
		       k.id AS k_id, k.partner_id AS k_partner_id, k.eligible_tiers AS k_eligible_tiers, k.companions AS k_companions,
		       k.limit_per_day AS k_limit_per_day, k.limit_per_month AS k_limit_per_month, k.days AS k_days, k.hours AS k_hours,
		       k.active AS k_active,
		       m.id AS m_id, m.tier AS m_tier, m.status AS m_status,
		       g.id AS g_id, g.card_id AS g_card_id, g.party_size AS g_party_size, g.status AS g_status,
		       c.id AS c_id, c.status AS c_status, c.companions AS c_companions
		FROM (SELECT 1 AS one) o
		LEFT JOIN redemptions r ON r.api_key_id = ? AND r.idempotency_key = ?
		LEFT JOIN (SELECT id, at, partner_id, result, card_id, guest_pass_id, member_id
		           FROM verifications WHERE id = ? LIMIT 1) v ON 1 = 1
		LEFT JOIN perks k ON k.id = ?
		LEFT JOIN members m ON m.id = v.member_id{collate}
		LEFT JOIN guest_passes g ON g.id = v.guest_pass_id
		LEFT JOIN cards c ON c.id = COALESCE(g.card_id, v.card_id)`
	// verifications.member_id compares bytes (COLLATE "C", migration
	// 00004); members.id has the database's collation. Without naming one,
	// PostgreSQL cannot use members' primary key and reads the whole table.
	collate := ""
	if c.s.dialect.name == Postgres {
		collate = ` COLLATE "default"`
	}
	stmt, err := c.prepared(ctx, strings.Replace(q, "{collate}", collate, 1))
	if err != nil {
		return nil, fmt.Errorf("redemption facts: %w", err)
	}
	var r factsRow
	if err := stmt.GetContext(ctx, &r, apiKeyID, idemKey, verificationID, perkID); err != nil {
		return nil, fmt.Errorf("redemption facts: %w", mapErr(err))
	}
	f := &RedemptionFacts{}
	if r.RID != nil {
		f.Prev = &model.Redemption{ID: *r.RID, VerificationID: deref(r.RVerif), PerkID: deref(r.RPerk), PartySize: deref(r.RParty),
			At: deref(r.RAt), APIKeyID: apiKeyID, IdempotencyKey: idemKey}
	}
	if r.VID != nil {
		f.Verification = &model.Verification{ID: *r.VID, At: deref(r.VAt), PartnerID: deref(r.VPartner), Result: deref(r.VResult),
			CardID: r.VCard, GuestPassID: r.VPass, MemberID: r.VMember}
	}
	if r.KID != nil {
		f.Perk = &model.Perk{ID: *r.KID, PartnerID: deref(r.KPartner), EligibleTiers: deref(r.KTiers), Companions: deref(r.KComp),
			LimitPerDay: deref(r.KDay), LimitPerMonth: deref(r.KMonth), Days: deref(r.KDays), Hours: deref(r.KHours), Active: deref(r.KActive)}
	}
	if r.MID != nil {
		f.Member = &model.Member{ID: *r.MID, Tier: deref(r.MTier), Status: model.MemberStatus(deref(r.MStatus))}
	}
	if r.GID != nil {
		f.Pass = &model.GuestPass{ID: *r.GID, CardID: deref(r.GCard), PartySize: deref(r.GParty), Status: deref(r.GStatus)}
	}
	if r.CID != nil {
		f.Card = &model.Card{ID: *r.CID, Status: model.CardStatus(deref(r.CStatus)), Companions: deref(r.CComp)}
	}
	return f, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// Standing is what a redemption was granted on, which its insert checks
// again as it writes: the card the standing is read from (a guest pass's
// host card for a guest), the member's tier, and the perk's rules as they
// were read. A change to any of them between the read and the write —
// made here or on another instance, whether its notice has arrived or
// not — refuses the row (ErrStandingChanged) instead of granting on what
// was read.
type Standing struct {
	CardID string
	Tier   string
	Perk   *model.Perk
}

// perkRulesGuard is the part of a redemption's insert that checks the
// perk's rules are still those the redemption was granted on; its
// arguments are the Standing's perk's EligibleTiers, Companions,
// LimitPerDay, LimitPerMonth, Days and Hours, in that order. The batch
// statement (insertRedemptionsSQL) compares the same columns with its
// arrays.
const perkRulesGuard = `k.eligible_tiers = ? AND k.companions = ? AND k.limit_per_day = ? AND k.limit_per_month = ?
		              AND k.days = ? AND k.hours = ?`

// InsertRedemptionIfStanding records a use in one statement that also
// re-checks, as it writes, that the card and the member are still active
// and the member's tier the one granted, the guest pass (when the
// redemption has one) is not cancelled, and the perk is still offered with
// the rules read; otherwise nothing is written and the error is
// ErrStandingChanged. The unique keys refuse a second redemption of the
// same verification and perk, and a reused idempotency key (ErrConflict),
// as InsertRedemption does.
func (c *Conn) InsertRedemptionIfStanding(ctx context.Context, r *model.Redemption, s Standing) error {
	const q = `
		INSERT INTO redemptions (` + redemptionColumns + `)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
		WHERE EXISTS (SELECT 1 FROM cards c JOIN members m ON m.id = c.member_id
		              WHERE c.id = ? AND c.status = 'active' AND m.id = ? AND m.status = 'active' AND m.tier = ?)
		  AND EXISTS (SELECT 1 FROM perks k WHERE k.id = ? AND k.active AND ` + perkRulesGuard + `)
		  AND (CAST(? AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM guest_passes g WHERE g.id = ? AND g.status = 'active'))`
	stmt, err := c.prepared(ctx, q)
	if err != nil {
		return fmt.Errorf("insert redemption: %w", err)
	}
	k := s.Perk
	res, err := stmt.ExecContext(ctx, r.ID, r.VerificationID, r.IdempotencyKey, r.APIKeyID, r.PerkID,
		r.PartnerID, r.VenueID, r.MemberID, r.CardID, r.GuestPassID, r.PartySize, c.ts(r.At),
		s.CardID, r.MemberID, s.Tier,
		r.PerkID, k.EligibleTiers, k.Companions, k.LimitPerDay, k.LimitPerMonth, k.Days, k.Hours, // perkRulesGuard
		r.GuestPassID, r.GuestPassID)
	if err != nil {
		return fmt.Errorf("insert redemption: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("insert redemption of verification %s: %w", r.VerificationID, ErrStandingChanged)
	}
	return nil
}

package store

import (
	"context"
	"fmt"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
)

const redemptionColumns = `id, verification_id, idempotency_key, api_key_id, perk_id, partner_id, venue_id,
	member_id, card_id, guest_pass_id, party_size, at`

// RedemptionByIdempotencyKey finds an earlier redemption of the same request.
func (c *Conn) RedemptionByIdempotencyKey(ctx context.Context, apiKeyID, key string) (*model.Redemption, error) {
	const q = `SELECT ` + redemptionColumns + ` FROM redemptions WHERE api_key_id = ? AND idempotency_key = ?`
	var r model.Redemption
	if err := c.x.GetContext(ctx, &r, c.q(q), apiKeyID, key); err != nil {
		return nil, fmt.Errorf("redemption by idempotency key: %w", mapErr(err))
	}
	return &r, nil
}

// InsertRedemption records a use. The unique keys refuse a second
// redemption of the same verification and perk, and a reused idempotency key.
func (c *Conn) InsertRedemption(ctx context.Context, r *model.Redemption) error {
	const q = `INSERT INTO redemptions (` + redemptionColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	_, err := c.x.ExecContext(ctx, c.q(q), r.ID, r.VerificationID, r.IdempotencyKey, r.APIKeyID, r.PerkID,
		r.PartnerID, r.VenueID, r.MemberID, r.CardID, r.GuestPassID, r.PartySize, c.ts(r.At))
	if err != nil {
		return fmt.Errorf("insert redemption: %w", mapErr(err))
	}
	return nil
}

// TakePerkUse counts one use of a perk by a member in a period ("d:2026-11-24"
// or "m:2026-11") unless the limit is reached, atomically: the guarded
// upsert fails with ErrLimit however many requests race.
func (c *Conn) TakePerkUse(ctx context.Context, perkID, memberID, period string, limit int) error {
	const q = `
		INSERT INTO perk_usage (perk_id, member_id, period, uses) VALUES (?, ?, ?, 1)
		ON CONFLICT (perk_id, member_id, period) DO UPDATE SET uses = perk_usage.uses + 1
		WHERE perk_usage.uses < ?`
	res, err := c.x.ExecContext(ctx, c.q(q), perkID, memberID, period, limit)
	if err != nil {
		return fmt.Errorf("take perk use: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("perk %s period %s: %w", perkID, period, model.ErrLimit)
	}
	return nil
}

// FirstGuestRedemption is where and when a guest pass was first redeemed.
func (c *Conn) FirstGuestRedemption(ctx context.Context, passID string) (at time.Time, venue string, err error) {
	const q = `
		SELECT r.at, COALESCE(v.name, '') AS venue FROM redemptions r LEFT JOIN venues v ON v.id = r.venue_id
		WHERE r.guest_pass_id = ? ORDER BY r.at LIMIT 1`
	var row struct {
		At    time.Time `db:"at"`
		Venue string    `db:"venue"`
	}
	if err := c.x.GetContext(ctx, &row, c.q(q), passID); err != nil {
		return time.Time{}, "", fmt.Errorf("first guest redemption: %w", mapErr(err))
	}
	return row.At, row.Venue, nil
}

// ReportRow is one aggregate line of a redemption report.
type ReportRow struct {
	Month       string `db:"month"`
	Day         string `db:"day"`
	PartnerID   string `db:"partner_id"`
	PartnerName string `db:"partner_name"`
	VenueName   string `db:"venue_name"`
	PerkTitle   string `db:"perk_title"`
	Count       int    `db:"n"`
	People      int    `db:"people"`
}

// RedemptionReport aggregates redemptions by month, partner and perk, for
// one partner when partnerID is set, since a time.
func (c *Conn) RedemptionReport(ctx context.Context, partnerID string, since time.Time) ([]ReportRow, error) {
	month, day := c.s.dialect.jstMonth("r.at"), "''"
	q := `
		SELECT ` + month + ` AS month, ` + day + ` AS day, r.partner_id, p.name AS partner_name,
		       '' AS venue_name, k.title AS perk_title, COUNT(*) AS n, SUM(r.party_size) AS people
		FROM redemptions r JOIN partners p ON p.id = r.partner_id JOIN perks k ON k.id = r.perk_id
		WHERE r.at >= ?`
	args := []any{c.ts(since)}
	if partnerID != "" {
		q += ` AND r.partner_id = ?`
		args = append(args, partnerID)
	}
	q += ` GROUP BY 1, 2, r.partner_id, p.name, k.title ORDER BY 1, p.name, k.title`
	var rows []ReportRow
	if err := c.x.SelectContext(ctx, &rows, c.q(q), args...); err != nil {
		return nil, fmt.Errorf("redemption report: %w", mapErr(err))
	}
	return rows, nil
}

// PartnerRedemptionRow is one redemption as a partner may see it: the member
// appears only as the per-partner pseudonym the caller computes.
type PartnerRedemptionRow struct {
	At        time.Time `db:"at" json:"at"`
	VenueName string    `db:"venue_name" json:"venue"`
	PerkTitle string    `db:"perk_title" json:"perk"`
	PartySize int       `db:"party_size" json:"party_size"`
	MemberID  string    `db:"member_id" json:"member_id"`
	Guest     bool      `db:"guest" json:"guest"`
}

// PartnerRedemptions lists a partner's redemptions since a time.
func (c *Conn) PartnerRedemptions(ctx context.Context, partnerID string, since time.Time, limit int) ([]PartnerRedemptionRow, error) {
	const q = `
		SELECT r.at, COALESCE(v.name, oc.name, '') AS venue_name, k.title AS perk_title, r.party_size, r.member_id,
		       (r.guest_pass_id IS NOT NULL) AS guest
		FROM redemptions r LEFT JOIN venues v ON v.id = r.venue_id LEFT JOIN oidc_clients oc ON oc.id = r.oidc_client_id
		JOIN perks k ON k.id = r.perk_id
		WHERE r.partner_id = ? AND r.at >= ? ORDER BY r.at DESC LIMIT ?`
	var rows []PartnerRedemptionRow
	if err := c.x.SelectContext(ctx, &rows, c.q(q), partnerID, c.ts(since), limit); err != nil {
		return nil, fmt.Errorf("partner redemptions: %w", mapErr(err))
	}
	return rows, nil
}

// MemberRedemptions lists a member's redemptions with places (HR and wallet).
func (c *Conn) MemberRedemptions(ctx context.Context, memberID string, limit int) ([]PartnerRedemptionRow, error) {
	const q = `
		SELECT r.at, COALESCE(v.name, oc.name, '') AS venue_name, k.title AS perk_title, r.party_size, r.member_id,
		       (r.guest_pass_id IS NOT NULL) AS guest
		FROM redemptions r LEFT JOIN venues v ON v.id = r.venue_id LEFT JOIN oidc_clients oc ON oc.id = r.oidc_client_id
		JOIN perks k ON k.id = r.perk_id
		WHERE r.member_id = ? ORDER BY r.at DESC LIMIT ?`
	var rows []PartnerRedemptionRow
	if err := c.x.SelectContext(ctx, &rows, c.q(q), memberID, limit); err != nil {
		return nil, fmt.Errorf("member redemptions: %w", mapErr(err))
	}
	return rows, nil
}

// MemberUse is one perk use as the member's own wallet lists it.
type MemberUse struct {
	At          time.Time `db:"at"`
	PartnerName string    `db:"partner_name"`
	VenueName   string    `db:"venue_name"`
	PerkTitle   string    `db:"perk_title"`
	PerkTitleEn string    `db:"perk_title_en"` // "" = PerkTitle in English too
	PartySize   int       `db:"party_size"`
	Guest       bool      `db:"guest"`
}

// MemberUses lists a member's perk uses, newest first, for the wallet's
// history: redemptions, not scans, since a scan that led to no use is not a
// visit the member would recognise.
func (c *Conn) MemberUses(ctx context.Context, memberID string, limit int) ([]MemberUse, error) {
	const q = `
		SELECT r.at, p.name AS partner_name, COALESCE(v.name, oc.name, '') AS venue_name, k.title AS perk_title, k.title_en AS perk_title_en,
		       r.party_size, (r.guest_pass_id IS NOT NULL) AS guest
		FROM redemptions r
		JOIN partners p ON p.id = r.partner_id
		LEFT JOIN venues v ON v.id = r.venue_id
		LEFT JOIN oidc_clients oc ON oc.id = r.oidc_client_id
		JOIN perks k ON k.id = r.perk_id
		WHERE r.member_id = ? ORDER BY r.at DESC LIMIT ?`
	var uses []MemberUse
	if err := c.x.SelectContext(ctx, &uses, c.q(q), memberID, limit); err != nil {
		return nil, fmt.Errorf("member uses: %w", mapErr(err))
	}
	return uses, nil
}

package store

import (
	"context"
	"fmt"

	"github.com/alumnipass/alumnipass/internal/model"
)

// CreatePartner inserts a partner.
func (c *Conn) CreatePartner(ctx context.Context, p *model.Partner) error {
	const q = `INSERT INTO partners (id, name, kind, created_at) VALUES (?, ?, ?, ?)`
	if _, err := c.x.ExecContext(ctx, c.q(q), p.ID, p.Name, p.Kind, c.ts(p.CreatedAt)); err != nil {
		return fmt.Errorf("insert partner: %w", mapErr(err))
	}
	return nil
}

// Partner returns one partner.
func (c *Conn) Partner(ctx context.Context, id string) (*model.Partner, error) {
	const q = `SELECT id, name, kind, created_at, deactivated_at FROM partners WHERE id = ?`
	var p model.Partner
	if err := c.x.GetContext(ctx, &p, c.q(q), id); err != nil {
		return nil, fmt.Errorf("partner %s: %w", id, mapErr(err))
	}
	return &p, nil
}

// Partners lists every partner by name.
func (c *Conn) Partners(ctx context.Context) ([]model.Partner, error) {
	const q = `SELECT id, name, kind, created_at, deactivated_at FROM partners ORDER BY name`
	var ps []model.Partner
	if err := c.x.SelectContext(ctx, &ps, q); err != nil {
		return nil, fmt.Errorf("partners: %w", mapErr(err))
	}
	return ps, nil
}

// CreateVenue inserts a venue.
func (c *Conn) CreateVenue(ctx context.Context, v *model.Venue) error {
	const q = `INSERT INTO venues (id, partner_id, name, created_at) VALUES (?, ?, ?, ?)`
	if _, err := c.x.ExecContext(ctx, c.q(q), v.ID, v.PartnerID, v.Name, c.ts(v.CreatedAt)); err != nil {
		return fmt.Errorf("insert venue: %w", mapErr(err))
	}
	return nil
}

// Venue returns one venue.
func (c *Conn) Venue(ctx context.Context, id string) (*model.Venue, error) {
	const q = `SELECT id, partner_id, name, created_at, closed_at FROM venues WHERE id = ?`
	var v model.Venue
	if err := c.x.GetContext(ctx, &v, c.q(q), id); err != nil {
		return nil, fmt.Errorf("venue %s: %w", id, mapErr(err))
	}
	return &v, nil
}

// PartnerVenues lists a partner's venues.
func (c *Conn) PartnerVenues(ctx context.Context, partnerID string) ([]model.Venue, error) {
	const q = `SELECT id, partner_id, name, created_at, closed_at FROM venues WHERE partner_id = ? ORDER BY created_at`
	var vs []model.Venue
	if err := c.x.SelectContext(ctx, &vs, c.q(q), partnerID); err != nil {
		return nil, fmt.Errorf("partner venues: %w", mapErr(err))
	}
	return vs, nil
}

const perkColumns = `id, partner_id, title, description, title_en, description_en, eligible_tiers, companions, limit_per_day, limit_per_month, days, hours, active, created_at`

// CreatePerk inserts a perk.
func (c *Conn) CreatePerk(ctx context.Context, p *model.Perk) error {
	const q = `INSERT INTO perks (` + perkColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	_, err := c.x.ExecContext(ctx, c.q(q), p.ID, p.PartnerID, p.Title, p.Description, p.TitleEn, p.DescriptionEn, p.EligibleTiers,
		p.Companions, p.LimitPerDay, p.LimitPerMonth, p.Days, p.Hours, p.Active, c.ts(p.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert perk: %w", mapErr(err))
	}
	return c.publish(ctx, EventPerk, p.PartnerID)
}

// Perk returns one perk.
func (c *Conn) Perk(ctx context.Context, id string) (*model.Perk, error) {
	const q = `SELECT ` + perkColumns + ` FROM perks WHERE id = ?`
	var p model.Perk
	if err := c.x.GetContext(ctx, &p, c.q(q), id); err != nil {
		return nil, fmt.Errorf("perk %s: %w", id, mapErr(err))
	}
	return &p, nil
}

// PartnerPerks lists a partner's perks (active ones only when activeOnly).
func (c *Conn) PartnerPerks(ctx context.Context, partnerID string, activeOnly bool) ([]model.Perk, error) {
	q := `SELECT ` + perkColumns + ` FROM perks WHERE partner_id = ?`
	if activeOnly {
		q += ` AND active = TRUE`
	}
	q += ` ORDER BY created_at`
	var ps []model.Perk
	if err := c.x.SelectContext(ctx, &ps, c.q(q), partnerID); err != nil {
		return nil, fmt.Errorf("partner perks: %w", mapErr(err))
	}
	return ps, nil
}

// PerkWithPartner is a perk with where it is offered, for the wallet.
type PerkWithPartner struct {
	model.Perk
	PartnerName string `db:"partner_name"`
}

// OpenVenues lists the open venues of every active partner, for the
// wallet's perk directory (where a perk can be used).
func (c *Conn) OpenVenues(ctx context.Context) ([]model.Venue, error) {
	const q = `
		SELECT v.id, v.partner_id, v.name, v.created_at, v.closed_at
		FROM venues v JOIN partners pa ON pa.id = v.partner_id
		WHERE v.closed_at IS NULL AND pa.deactivated_at IS NULL ORDER BY v.partner_id, v.created_at`
	var vs []model.Venue
	if err := c.x.SelectContext(ctx, &vs, q); err != nil {
		return nil, fmt.Errorf("open venues: %w", mapErr(err))
	}
	return vs, nil
}

// ActivePerks lists every active perk with its partner's name.
func (c *Conn) ActivePerks(ctx context.Context) ([]PerkWithPartner, error) {
	const q = `
		SELECT p.id, p.partner_id, p.title, p.description, p.title_en, p.description_en, p.eligible_tiers, p.companions,
		       p.limit_per_day, p.limit_per_month, p.days, p.hours, p.active, p.created_at, pa.name AS partner_name
		FROM perks p JOIN partners pa ON pa.id = p.partner_id
		WHERE p.active = TRUE AND pa.deactivated_at IS NULL ORDER BY pa.name, p.created_at`
	var ps []PerkWithPartner
	if err := c.x.SelectContext(ctx, &ps, q); err != nil {
		return nil, fmt.Errorf("active perks: %w", mapErr(err))
	}
	return ps, nil
}

package partners

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// PartnerPatch renames a partner or deactivates (active false) or
// reactivates it; absent fields are kept.
type PartnerPatch struct {
	Name   *string `json:"name"`
	Active *bool   `json:"active"`
}

// UpdatePartner renames, deactivates or reactivates a partner; HR's
// decision, not the partner's. Deactivating revokes every key of the
// partner in the same transaction, and every instance drops its cached keys
// at once: no device or POS of the partner is answered again. Reactivating
// does not bring the keys back; devices pair again.
func (s *Service) UpdatePartner(ctx context.Context, p *model.Principal, id string, patch PartnerPatch) (*PartnerDetail, error) {
	if p.PartnerID != "" {
		return nil, model.NewProblem(model.ErrForbidden, "forbidden", "Only HR can rename or deactivate a partner.")
	}
	d, err := s.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	before, after := partnerView(d.Partner), partnerView(d.Partner)
	name := d.Name
	if patch.Name != nil {
		name = strings.TrimSpace(*patch.Name)
		if err := checkText("name", name, 100, true); err != nil {
			return nil, err
		}
		after["name"] = name
	}
	wasActive := d.DeactivatedAt == nil
	active := wasActive
	if patch.Active != nil {
		active = *patch.Active
		after["active"] = active
	}
	if name == d.Name && active == wasActive {
		return d, nil
	}
	now := s.now()
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if name != d.Name {
			if err := tx.RenamePartner(ctx, id, name); err != nil {
				return err
			}
		}
		if active != wasActive {
			revoked, err := tx.SetPartnerActive(ctx, id, active, now)
			if errors.Is(err, model.ErrConflict) {
				return model.NewProblem(model.ErrConflict, "partner_changed", "The partner was changed by another request at the same time; reload and try again.")
			}
			if err != nil {
				return err
			}
			after["revoked_keys"] = len(revoked)
		}
		return tx.InsertAudit(ctx, p.Audit(newID(), now, "partner.update", "partner", id, model.JSON(before), model.JSON(after)))
	})
	if err != nil {
		return nil, fmt.Errorf("update partner: %w", err)
	}
	return s.Get(ctx, p, id)
}

func partnerView(pa model.Partner) map[string]any {
	return map[string]any{"name": pa.Name, "active": pa.DeactivatedAt == nil}
}

// VenuePatch renames a venue or closes (closed true) or reopens it.
type VenuePatch struct {
	Name   *string `json:"name"`
	Closed *bool   `json:"closed"`
}

// UpdateVenue renames, closes or reopens a venue of the partner. Closing
// revokes the venue's keys in the same transaction; every instance drops
// its cached keys at once.
func (s *Service) UpdateVenue(ctx context.Context, p *model.Principal, partnerID, venueID string, patch VenuePatch) (*model.Venue, error) {
	d, err := s.Get(ctx, p, partnerID)
	if err != nil {
		return nil, err
	}
	var v *model.Venue
	for i := range d.Venues {
		if d.Venues[i].ID == venueID {
			v = &d.Venues[i]
		}
	}
	if v == nil {
		return nil, notFound("venue")
	}
	before, next := *v, *v
	if patch.Name != nil {
		next.Name = strings.TrimSpace(*patch.Name)
		if err := checkText("name", next.Name, 100, true); err != nil {
			return nil, err
		}
	}
	now := s.now()
	if patch.Closed != nil {
		switch {
		case *patch.Closed && v.ClosedAt == nil:
			t := now.UTC().Truncate(time.Microsecond)
			next.ClosedAt = &t
		case !*patch.Closed:
			next.ClosedAt = nil
		}
	}
	if next.Name == before.Name && (next.ClosedAt == nil) == (before.ClosedAt == nil) {
		return v, nil
	}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		revoked, err := tx.UpdateVenue(ctx, &next, now)
		if err != nil {
			return err
		}
		after := venueView(next)
		if len(revoked) > 0 {
			after["revoked_keys"] = len(revoked)
		}
		return tx.InsertAudit(ctx, p.Audit(newID(), now, "venue.update", "partner", d.ID, model.JSON(venueView(before)), model.JSON(after)))
	})
	if err != nil {
		return nil, fmt.Errorf("update venue: %w", err)
	}
	return &next, nil
}

func venueView(v model.Venue) map[string]any {
	return map[string]any{"venue_id": v.ID, "name": v.Name, "closed": v.ClosedAt != nil}
}

// PerkPatch changes a perk; absent fields are kept.
type PerkPatch struct {
	Title         *string   `json:"title"`
	Description   *string   `json:"description"`
	TitleEn       *string   `json:"title_en"`
	DescriptionEn *string   `json:"description_en"`
	EligibleTiers *[]string `json:"eligible_tiers"`
	Companions    *int      `json:"companions"`
	LimitPerDay   *int      `json:"limit_per_day"`
	LimitPerMonth *int      `json:"limit_per_month"`
	Days          *[]string `json:"days"`
	Hours         *string   `json:"hours"`
	Active        *bool     `json:"active"`
}

// UpdatePerk edits a perk of the partner by the rules of creating one, or
// switches it on or off; audited with the perk before and after. Every
// instance drops the partner's cached perks, so the next scan shows it.
func (s *Service) UpdatePerk(ctx context.Context, p *model.Principal, partnerID, perkID string, patch PerkPatch) (*model.Perk, error) {
	if err := canSee(p, partnerID); err != nil {
		return nil, err
	}
	if _, err := uuid.Parse(perkID); err != nil {
		return nil, notFound("perk")
	}
	old, err := s.st.Perk(ctx, perkID)
	if errors.Is(err, model.ErrNotFound) || (err == nil && old.PartnerID != partnerID) {
		return nil, notFound("perk")
	}
	if err != nil {
		return nil, err
	}
	in := perkInput(*old)
	for _, f := range []struct{ from, to *string }{{patch.Title, &in.Title}, {patch.Description, &in.Description},
		{patch.TitleEn, &in.TitleEn}, {patch.DescriptionEn, &in.DescriptionEn}, {patch.Hours, &in.Hours}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	for _, f := range []struct{ from, to *int }{{patch.Companions, &in.Companions}, {patch.LimitPerDay, &in.LimitPerDay}, {patch.LimitPerMonth, &in.LimitPerMonth}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	if patch.EligibleTiers != nil {
		in.EligibleTiers = *patch.EligibleTiers
	}
	if patch.Days != nil {
		in.Days = *patch.Days
	}
	days, err := in.normalize()
	if err != nil {
		return nil, err
	}
	pk := *old
	pk.Title, pk.Description, pk.TitleEn, pk.DescriptionEn = in.Title, in.Description, in.TitleEn, in.DescriptionEn
	pk.EligibleTiers, pk.Companions, pk.LimitPerDay, pk.LimitPerMonth = strings.Join(in.EligibleTiers, ","), in.Companions, in.LimitPerDay, in.LimitPerMonth
	pk.Days, pk.Hours = days, in.Hours
	if patch.Active != nil {
		pk.Active = *patch.Active
	}
	if pk == *old {
		return old, nil
	}
	now := s.now()
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UpdatePerk(ctx, &pk); err != nil {
			return err
		}
		return tx.InsertAudit(ctx, p.Audit(newID(), now, "perk.update", "partner", partnerID, model.JSON(old), model.JSON(pk)))
	})
	if err != nil {
		return nil, fmt.Errorf("update perk: %w", err)
	}
	return &pk, nil
}

// perkInput is a stored perk as the input that would create it.
func perkInput(pk model.Perk) PerkInput {
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	return PerkInput{Title: pk.Title, Description: pk.Description, TitleEn: pk.TitleEn, DescriptionEn: pk.DescriptionEn,
		EligibleTiers: split(pk.EligibleTiers), Companions: pk.Companions, LimitPerDay: pk.LimitPerDay,
		LimitPerMonth: pk.LimitPerMonth, Days: split(pk.Days), Hours: pk.Hours}
}

func partnerDeactivated() error {
	return model.NewProblem(model.ErrConflict, "partner_deactivated", "This partner is deactivated; reactivate it first.")
}

func venueClosed() error {
	return model.NewProblem(model.ErrConflict, "venue_closed", "This venue is closed; reopen it first.")
}

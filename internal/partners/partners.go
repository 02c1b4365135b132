// Package partners is the counter side: partners, their venues and perks,
// staff device keys and pairing, redemptions with their limits enforced
// atomically, and the partner's own report, where members appear only as a
// per-partner pseudonym.
package partners

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// validKind says whether a partner kind is one we know.
func validKind(k string) bool {
	return k == "restaurant" || k == "hotel" || k == "store" || k == "other"
}

// Service manages partners and records redemptions.
type Service struct {
	st           Storer
	now          func() time.Time
	pseudonymKey []byte
	tokyo        *time.Location
	opt          Options
	redemptions  *redemptionBatcher
	factsFrom    factsCounts
}

// Options are the partner settings of the configuration.
type Options struct {
	// MaxKeysPerVenue caps a venue's active device keys, however they are
	// made (issued or paired), so that a partner cannot multiply the
	// per-key guessing budget; 0 means DefaultMaxKeysPerVenue.
	MaxKeysPerVenue int
	// RecentScans, when set, decides a redemption that follows a scan this
	// process answered from memory instead of reading its facts
	// (verify.Verifier.RecentRedemptionFacts).
	RecentScans RecentScans
}

// RecentScans answers what a redemption decides on from memory, or ok
// false when it cannot be sure; Prev is then always nil.
type RecentScans interface {
	RecentRedemptionFacts(verificationID, perkID string) (f *store.RedemptionFacts, ok bool)
}

// DefaultMaxKeysPerVenue is the cap on a venue's active device keys when
// none is configured: more tablets and POS lanes than a restaurant or a
// hotel front desk has.
const DefaultMaxKeysPerVenue = 20

// New makes the service. pseudonymKey keys the per-partner member pseudonyms.
func New(st Storer, pseudonymKey []byte, now func() time.Time, opt Options) *Service {
	if opt.MaxKeysPerVenue <= 0 {
		opt.MaxKeysPerVenue = DefaultMaxKeysPerVenue
	}
	return &Service{st: st, now: now, pseudonymKey: pseudonymKey, tokyo: model.JST(), opt: opt, redemptions: newRedemptionBatcher(st)}
}

// PartnerInput creates a partner with its first venue.
type PartnerInput struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	VenueName string `json:"venue_name"`
}

// PartnerDetail is a partner with its venues.
type PartnerDetail struct {
	model.Partner
	Venues []model.Venue `json:"venues"`
}

func checkText(field, v string, maxLen int, required bool) error {
	n := utf8.RuneCountInString(v)
	if (required && n == 0) || n > maxLen {
		return model.Invalidf(field, "invalid_"+field, fmt.Sprintf("%s must be 1 to %d characters", field, maxLen))
	}
	return nil
}

// CreatePartner adds a partner and its first venue.
func (s *Service) CreatePartner(ctx context.Context, p *model.Principal, in PartnerInput) (*PartnerDetail, error) {
	in.Name, in.Kind, in.VenueName = strings.TrimSpace(in.Name), strings.TrimSpace(in.Kind), strings.TrimSpace(in.VenueName)
	if err := checkText("name", in.Name, 100, true); err != nil {
		return nil, err
	}
	if !validKind(in.Kind) {
		return nil, model.Invalidf("kind", "invalid_kind", "kind must be restaurant, hotel, store or other")
	}
	if in.VenueName == "" {
		in.VenueName = in.Name
	}
	if err := checkText("venue_name", in.VenueName, 100, true); err != nil {
		return nil, err
	}
	now := s.now()
	pa := model.Partner{ID: uuid.NewString(), Name: in.Name, Kind: in.Kind, CreatedAt: now}
	v := model.Venue{ID: uuid.NewString(), PartnerID: pa.ID, Name: in.VenueName, CreatedAt: now}
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreatePartner(ctx, &pa); err != nil {
			return err
		}
		if err := tx.CreateVenue(ctx, &v); err != nil {
			return err
		}
		return tx.InsertAudit(ctx, p.Audit(newID(), now, "partner.create", "partner", pa.ID, "", model.JSON(map[string]any{"partner": pa, "venue": v})))
	})
	if err != nil {
		return nil, fmt.Errorf("create partner: %w", err)
	}
	return &PartnerDetail{Partner: pa, Venues: []model.Venue{v}}, nil
}

// Get returns a partner the principal may see.
func (s *Service) Get(ctx context.Context, p *model.Principal, id string) (*PartnerDetail, error) {
	if err := canSee(p, id); err != nil {
		return nil, err
	}
	if _, err := uuid.Parse(id); err != nil {
		return nil, notFound("partner")
	}
	pa, err := s.st.Partner(ctx, id)
	if errors.Is(err, model.ErrNotFound) {
		return nil, notFound("partner")
	}
	if err != nil {
		return nil, err
	}
	vs, err := s.st.PartnerVenues(ctx, id)
	if err != nil {
		return nil, err
	}
	return &PartnerDetail{Partner: *pa, Venues: vs}, nil
}

// List returns the partners the principal may see.
func (s *Service) List(ctx context.Context, p *model.Principal) ([]model.Partner, error) {
	all, err := s.st.Partners(ctx)
	if err != nil {
		return nil, err
	}
	if p.PartnerID == "" {
		return all, nil
	}
	var mine []model.Partner
	for _, pa := range all {
		if pa.ID == p.PartnerID {
			mine = append(mine, pa)
		}
	}
	return mine, nil
}

// AddVenue adds a venue to a partner.
func (s *Service) AddVenue(ctx context.Context, p *model.Principal, partnerID, name string) (*model.Venue, error) {
	d, err := s.Get(ctx, p, partnerID)
	if err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if err := checkText("name", name, 100, true); err != nil {
		return nil, err
	}
	now := s.now()
	v := &model.Venue{ID: uuid.NewString(), PartnerID: d.ID, Name: name, CreatedAt: now}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateVenue(ctx, v); err != nil {
			return err
		}
		return tx.InsertAudit(ctx, p.Audit(newID(), now, "venue.create", "partner", d.ID, "", model.JSON(v)))
	})
	if err != nil {
		return nil, fmt.Errorf("add venue: %w", err)
	}
	return v, nil
}

// PerkInput defines a perk.
type PerkInput struct {
	Title         string   `json:"title"`
	Description   string   `json:"description"`
	TitleEn       string   `json:"title_en"`       // optional English title
	DescriptionEn string   `json:"description_en"` // optional English description
	EligibleTiers []string `json:"eligible_tiers"`
	Companions    int      `json:"companions"`
	LimitPerDay   int      `json:"limit_per_day"`
	LimitPerMonth int      `json:"limit_per_month"`
	Days          []string `json:"days"`  // mon … sun; empty = every day
	Hours         string   `json:"hours"` // "11:00-14:00" Japan time; empty = all day
}

// CreatePerk adds a perk to a partner.
func (s *Service) CreatePerk(ctx context.Context, p *model.Principal, partnerID string, in PerkInput) (*model.Perk, error) {
	d, err := s.Get(ctx, p, partnerID)
	if err != nil {
		return nil, err
	}
	days, err := in.normalize()
	if err != nil {
		return nil, err
	}
	now := s.now()
	pk := &model.Perk{Days: days, Hours: in.Hours, ID: uuid.NewString(), PartnerID: d.ID, Title: in.Title, Description: in.Description,
		TitleEn: in.TitleEn, DescriptionEn: in.DescriptionEn,
		EligibleTiers: strings.Join(in.EligibleTiers, ","), Companions: in.Companions, LimitPerDay: in.LimitPerDay,
		LimitPerMonth: in.LimitPerMonth, Active: true, CreatedAt: now}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreatePerk(ctx, pk); err != nil {
			return err
		}
		return tx.InsertAudit(ctx, p.Audit(newID(), now, "perk.create", "partner", d.ID, "", model.JSON(pk)))
	})
	if err != nil {
		return nil, fmt.Errorf("create perk: %w", err)
	}
	return pk, nil
}

// normalize trims and checks a perk's fields, the one rule of creating and
// editing a perk; it returns the days as stored.
func (in *PerkInput) normalize() (string, error) {
	in.Title, in.Description = strings.TrimSpace(in.Title), strings.TrimSpace(in.Description)
	if err := checkText("title", in.Title, 100, true); err != nil {
		return "", err
	}
	if err := checkText("description", in.Description, 1000, false); err != nil {
		return "", err
	}
	in.TitleEn, in.DescriptionEn = strings.TrimSpace(in.TitleEn), strings.TrimSpace(in.DescriptionEn)
	if err := checkText("title_en", in.TitleEn, 100, false); err != nil {
		return "", err
	}
	if err := checkText("description_en", in.DescriptionEn, 1000, false); err != nil {
		return "", err
	}
	if len(in.EligibleTiers) == 0 || len(in.EligibleTiers) > 20 {
		return "", model.Invalidf("eligible_tiers", "invalid_eligible_tiers", `eligible_tiers must list 1 to 20 tiers, or ["*"] for every tier`)
	}
	for _, t := range in.EligibleTiers {
		if t != "*" && !model.ValidTier(t) {
			return "", model.Invalidf("eligible_tiers", "invalid_eligible_tiers", fmt.Sprintf("%q is not a tier name (lowercase letters, digits, - and _)", t))
		}
	}
	if in.Companions < 0 || in.Companions > 20 {
		return "", model.Invalidf("companions", "invalid_companions", "companions must be between 0 and 20")
	}
	if in.LimitPerDay < 0 || in.LimitPerDay > 1000 || in.LimitPerMonth < 0 || in.LimitPerMonth > 10000 {
		return "", model.Invalidf("limit_per_day", "invalid_limit", "limits must be 0 (no limit) or a positive number (at most 1000 a day, 10000 a month)")
	}
	days, err := checkDays(in.Days)
	if err != nil {
		return "", err
	}
	in.Hours = strings.TrimSpace(in.Hours)
	if _, _, ok := model.ParseHours(in.Hours); in.Hours != "" && !ok {
		return "", model.Invalidf("hours", "invalid_hours", `hours must be like "11:00-14:00" (Japan time), or empty for all day`)
	}
	return days, nil
}

// Perks lists a partner's perks.
func (s *Service) Perks(ctx context.Context, p *model.Principal, partnerID string) ([]model.Perk, error) {
	if err := canSee(p, partnerID); err != nil {
		return nil, err
	}
	return s.st.PartnerPerks(ctx, partnerID, false)
}

func checkDays(days []string) (string, error) {
	seen := map[string]bool{}
	var out []string
	for _, d := range days {
		d = strings.ToLower(strings.TrimSpace(d))
		if len(d) > 3 {
			d = d[:3]
		}
		ok := false
		for _, w := range model.Weekdays() {
			ok = ok || w == d
		}
		if !ok {
			return "", model.Invalidf("days", "invalid_days", "days must be names such as mon, tue, wed, thu, fri, sat, sun")
		}
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return strings.Join(out, ","), nil
}

// canSee refuses a partner manager or device another partner's data; HR
// sees every partner. Refusals look like "not found" so ids are not probed.
func canSee(p *model.Principal, partnerID string) error {
	if p.PartnerID != "" && p.PartnerID != partnerID {
		return notFound("partner")
	}
	return nil
}

func notFound(what string) error {
	return model.NewProblem(model.ErrNotFound, what+"_not_found", "No "+what+" with this id.")
}

// Pseudonym is a member's stable id for one partner: an HMAC of member and
// partner, so a partner can count repeat visits but no two partners can
// join their data.
func (s *Service) Pseudonym(memberID, partnerID string) string {
	m := hmac.New(sha256.New, s.pseudonymKey)
	m.Write([]byte(partnerID + "\x00" + memberID))
	return "m_" + hex.EncodeToString(m.Sum(nil)[:8])
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func randomCode(n int) (string, error) {
	const alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ" // no 0/O, 1/I/L
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random code: %w", err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), nil
}

// hashPairing hashes a typed pairing code (case and dashes ignored).
func hashPairing(code string) string {
	code = strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
	return auth.HashToken("pair:" + code)
}

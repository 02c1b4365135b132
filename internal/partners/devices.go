package partners

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// PairingTTL is how long a pairing code can be used.
const PairingTTL = 15 * time.Minute

// IssuedKey is a new device/API key, shown once.
type IssuedKey struct {
	ID        string `json:"id"`
	Key       string `json:"key"`
	Name      string `json:"name"`
	PartnerID string `json:"partner_id"`
	VenueID   string `json:"venue_id"`
	VenueName string `json:"venue_name"`
}

// venueOf picks a venue of the partner: the named one or the first.
func (s *Service) venueOf(ctx context.Context, p *model.Principal, partnerID, venueID string) (*PartnerDetail, *model.Venue, error) {
	d, err := s.Get(ctx, p, partnerID)
	if err != nil {
		return nil, nil, err
	}
	if d.DeactivatedAt != nil {
		return nil, nil, partnerDeactivated()
	}
	for i := range d.Venues {
		if venueID == "" && d.Venues[i].ClosedAt == nil || d.Venues[i].ID == venueID {
			if d.Venues[i].ClosedAt != nil {
				return nil, nil, venueClosed()
			}
			return d, &d.Venues[i], nil
		}
	}
	return nil, nil, model.Invalidf("venue_id", "venue_not_found", "venue_id is not a venue of this partner")
}

// CreateKey issues a device or POS key for a venue of a partner.
func (s *Service) CreateKey(ctx context.Context, p *model.Principal, partnerID, venueID, name string) (*IssuedKey, error) {
	name = strings.TrimSpace(name)
	if err := checkText("name", name, 100, true); err != nil {
		return nil, err
	}
	d, v, err := s.venueOf(ctx, p, partnerID, venueID)
	if err != nil {
		return nil, err
	}
	var out *IssuedKey
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		out, err = s.createKey(ctx, tx, p, d.ID, v, name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create key: %w", err)
	}
	return out, nil
}

func (s *Service) createKey(ctx context.Context, tx *store.Tx, p *model.Principal, partnerID string, v *model.Venue, name string) (*IssuedKey, error) {
	tok, hash, err := auth.NewToken(auth.PrefixDevice)
	if err != nil {
		return nil, err
	}
	now := s.now()
	k := &model.APIKey{ID: uuid.NewString(), Name: name, Prefix: tok[:len(auth.PrefixDevice)+6], Hash: hash, Role: model.RoleDevice,
		PartnerID: &partnerID, VenueID: &v.ID, CreatedAt: now}
	if err := tx.CreateVenueKey(ctx, k, s.opt.MaxKeysPerVenue); err != nil {
		if errors.Is(err, model.ErrLimit) {
			return nil, s.keyLimit(v)
		}
		return nil, err
	}
	if err := tx.InsertAudit(ctx, p.Audit(newID(), now, "device_key.create", "partner", partnerID, "",
		model.JSON(map[string]string{"key_id": k.ID, "name": name, "venue_id": v.ID, "prefix": k.Prefix}))); err != nil {
		return nil, err
	}
	return &IssuedKey{ID: k.ID, Key: tok, Name: name, PartnerID: partnerID, VenueID: v.ID, VenueName: v.Name}, nil
}

// keyLimit is the refusal of a key beyond the venue's cap.
func (s *Service) keyLimit(v *model.Venue) error {
	return model.NewProblem(model.ErrLimit, "device_key_limit", fmt.Sprintf(
		"The venue %q already has %d active device keys, the most it may have; revoke one it no longer uses first.", v.Name, s.opt.MaxKeysPerVenue))
}

// Keys lists a partner's keys (never the secrets).
func (s *Service) Keys(ctx context.Context, p *model.Principal, partnerID string) ([]model.APIKey, error) {
	if err := canSee(p, partnerID); err != nil {
		return nil, err
	}
	return s.st.PartnerAPIKeys(ctx, partnerID)
}

// RevokeKey revokes a partner's key; the device stops at its next request.
func (s *Service) RevokeKey(ctx context.Context, p *model.Principal, partnerID, keyID string) error {
	keys, err := s.Keys(ctx, p, partnerID)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.ID != keyID {
			continue
		}
		now := s.now()
		return s.st.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.RevokeAPIKey(ctx, keyID, now); err != nil {
				return err
			}
			return tx.InsertAudit(ctx, p.Audit(newID(), now, "device_key.revoke", "partner", partnerID, "", model.JSON(map[string]string{"key_id": keyID})))
		})
	}
	return notFound("key")
}

// Pairing is a one-use code a staff tablet scans or types to get its key.
type Pairing struct {
	Code      string    `json:"code"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
	VenueID   string    `json:"venue_id"`
}

// CreatePairing makes a pairing code for a venue.
func (s *Service) CreatePairing(ctx context.Context, p *model.Principal, partnerID, venueID, name, baseURL string) (*Pairing, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "staff device"
	}
	if err := checkText("name", name, 100, true); err != nil {
		return nil, err
	}
	d, v, err := s.venueOf(ctx, p, partnerID, venueID)
	if err != nil {
		return nil, err
	}
	// Pairing makes a key, so a venue at its cap is told now rather than
	// when a tablet scans the code (Pair enforces the cap in any case).
	if n, err := s.st.ActiveVenueKeys(ctx, v.ID); err != nil {
		return nil, fmt.Errorf("create pairing: %w", err)
	} else if n >= s.opt.MaxKeysPerVenue {
		return nil, s.keyLimit(v)
	}
	code, err := randomCode(10)
	if err != nil {
		return nil, err
	}
	now := s.now()
	exp := now.Add(PairingTTL)
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreatePairingCode(ctx, hashPairing(code), v.ID, name, exp, now); err != nil {
			return err
		}
		return tx.InsertAudit(ctx, p.Audit(newID(), now, "device.pairing_code", "partner", d.ID, "", model.JSON(map[string]string{"venue_id": v.ID, "name": name})))
	})
	if err != nil {
		return nil, fmt.Errorf("create pairing: %w", err)
	}
	pretty := code[:5] + "-" + code[5:]
	return &Pairing{Code: pretty, URL: baseURL + "/scan?pair=" + pretty, ExpiresAt: exp, VenueID: v.ID}, nil
}

// Pair exchanges a pairing code for a device key, once.
func (s *Service) Pair(ctx context.Context, code string) (*IssuedKey, string, error) {
	bad := model.NewProblem(model.ErrNotFound, "pairing_code_invalid", "This pairing code is wrong, used or expired. Ask your manager for a new one.")
	if len(code) < 6 || len(code) > 20 {
		return nil, "", bad
	}
	var out *IssuedKey
	var partnerName string
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		venueID, name, err := tx.UsePairingCode(ctx, hashPairing(code), s.now())
		if errors.Is(err, model.ErrNotFound) {
			return bad
		}
		if err != nil {
			return err
		}
		v, err := tx.Venue(ctx, venueID)
		if err != nil {
			return err
		}
		pa, err := tx.Partner(ctx, v.PartnerID)
		if err != nil {
			return err
		}
		if pa.DeactivatedAt != nil || v.ClosedAt != nil {
			return bad
		}
		partnerName = pa.Name
		p := &model.Principal{Kind: "pairing", ID: "pairing", Name: "device pairing", Role: model.RoleDevice, PartnerID: pa.ID}
		out, err = s.createKey(ctx, tx, p, pa.ID, v, name)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("pair: %w", err)
	}
	return out, partnerName, nil
}

// DeviceInfo is what the scanner page shows about its own device.
type DeviceInfo struct {
	VenueName   string          `json:"venue_name"`
	PartnerName string          `json:"partner_name"`
	Perks       []model.Perk    `json:"perks"`
	Principal   model.Principal `json:"-"`
}

// Device describes a device principal's venue and perks.
func (s *Service) Device(ctx context.Context, p *model.Principal) (*DeviceInfo, error) {
	if p.VenueID == "" {
		return nil, model.NewProblem(model.ErrForbidden, "not_a_venue_key", "This key does not belong to a venue.")
	}
	v, err := s.st.Venue(ctx, p.VenueID)
	if err != nil {
		return nil, err
	}
	pa, err := s.st.Partner(ctx, v.PartnerID)
	if err != nil {
		return nil, err
	}
	perks, err := s.st.PartnerPerks(ctx, pa.ID, true)
	if err != nil {
		return nil, err
	}
	return &DeviceInfo{VenueName: v.Name, PartnerName: pa.Name, Perks: perks, Principal: *p}, nil
}

package partners

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// OnlineRedeemInput is a perk used in a booking on a partner's website,
// recorded with the member's access token ("Sign in with alumnipass").
type OnlineRedeemInput struct {
	PerkID           string `json:"perk_id"`
	PartySize        int    `json:"party_size"`
	BookingReference string `json:"booking_reference"`
}

// OnlineGrant is who the access token speaks for: set by the OpenID
// Provider from a token that answers now, never from the request body.
type OnlineGrant struct {
	MemberID  string
	PartnerID string
	ClientID  string
}

// OnlineRedemption is the answer to an online redemption.
type OnlineRedemption struct {
	ID               string `json:"id"`
	PerkID           string `json:"perk_id"`
	PartySize        int    `json:"party_size"`
	BookingReference string `json:"booking_reference"`
	At               string `json:"at"`
	Replayed         bool   `json:"idempotent_replay"`
}

// RedeemOnline records a perk used online, counted in the same daily and
// monthly limits and the same reports as a counter redemption: the perk
// must be the client's partner's, active and offered to the member's tier;
// the party no larger than the perk allows; the member active. The same
// Idempotency-Key from the same client returns the first answer.
func (s *Service) RedeemOnline(ctx context.Context, g OnlineGrant, idemKey string, in OnlineRedeemInput) (*OnlineRedemption, error) {
	if len(idemKey) < 8 || len(idemKey) > 100 {
		return nil, model.Invalidf("Idempotency-Key", "idempotency_key_required", "send an Idempotency-Key header of 8 to 100 characters (a UUID per booking), reused on retries")
	}
	if _, err := uuid.Parse(in.PerkID); err != nil {
		return nil, model.Invalidf("perk_id", "invalid_perk_id", "perk_id must be one of the perks in the member's claims")
	}
	if in.PartySize < 1 {
		return nil, model.Invalidf("party_size", "invalid_party_size", "party_size must be at least 1 (the member)")
	}
	in.BookingReference = strings.TrimSpace(in.BookingReference)
	if n := utf8.RuneCountInString(in.BookingReference); n == 0 || n > 100 {
		return nil, model.Invalidf("booking_reference", "invalid_booking_reference", "booking_reference must be 1 to 100 characters")
	}
	out, err := s.redeemOnlineOnce(ctx, g, idemKey, in)
	if errors.Is(err, store.ErrStandingChanged) {
		// The member or the perk changed between the read and the insert:
		// read again, and answer with what changed.
		out, err = s.redeemOnlineOnce(ctx, g, idemKey, in)
	}
	if errors.Is(err, store.ErrStandingChanged) {
		return nil, model.NewProblem(model.ErrConflict, "revoked", "The membership or the perk changed during the redemption. Do not give the discount.")
	}
	return out, err
}

// redeemOnlineOnce reads the perk and the member, decides, and writes; the
// insert re-checks what it decided on (store.ErrStandingChanged otherwise).
func (s *Service) redeemOnlineOnce(ctx context.Context, g OnlineGrant, idemKey string, in OnlineRedeemInput) (*OnlineRedemption, error) {
	keyID := "oidc:" + g.ClientID
	answer := func(r *model.Redemption, replay bool) *OnlineRedemption {
		return &OnlineRedemption{ID: r.ID, PerkID: r.PerkID, PartySize: r.PartySize, BookingReference: in.BookingReference,
			At: r.At.UTC().Format(time.RFC3339), Replayed: replay}
	}
	same := func(prev *model.Redemption, ref string) bool {
		return prev.PerkID == in.PerkID && prev.PartySize == in.PartySize && ref == in.BookingReference
	}
	if prev, ref, err := s.st.OnlineRedemptionByIdempotencyKey(ctx, keyID, idemKey); err == nil {
		if !same(prev, ref) {
			return nil, model.NewProblem(model.ErrConflict, "idempotency_key_reused", "This Idempotency-Key was used for a different redemption.")
		}
		return answer(prev, true), nil
	} else if !errors.Is(err, model.ErrNotFound) {
		return nil, err
	}
	perk, err := s.st.Perk(ctx, in.PerkID)
	if errors.Is(err, model.ErrNotFound) || err == nil && (perk.PartnerID != g.PartnerID || !perk.Active) {
		return nil, model.NewProblem(model.ErrNotFound, "perk_not_found", "No active perk with this id at this partner.")
	}
	if err != nil {
		return nil, err
	}
	m, err := s.st.Member(ctx, g.MemberID)
	if err != nil {
		return nil, err
	}
	if m.Status != model.MemberActive {
		return nil, model.NewProblem(model.ErrConflict, string(m.Status), "The membership is not active. Do not give the discount.")
	}
	if !model.TierEligible(perk.EligibleTiers, m.Tier) {
		return nil, model.NewProblem(model.ErrConflict, "not_eligible", "This perk is not offered to this membership tier.")
	}
	if in.PartySize > 1+perk.Companions {
		return nil, model.Invalidf("party_size", "party_too_large", fmt.Sprintf("This perk covers at most %d people.", 1+perk.Companions))
	}
	now := s.now()
	r := &model.Redemption{ID: uuid.Must(uuid.NewV7()).String(), VerificationID: uuid.Must(uuid.NewV7()).String(), IdempotencyKey: idemKey,
		APIKeyID: keyID, PerkID: perk.ID, PartnerID: g.PartnerID, MemberID: m.ID, PartySize: in.PartySize, At: now}
	local := now.In(s.tokyo)
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if perk.LimitPerDay > 0 {
			if err := tx.TakePerkUse(ctx, perk.ID, m.ID, "d:"+local.Format("2006-01-02"), perk.LimitPerDay); err != nil {
				if errors.Is(err, model.ErrLimit) {
					return model.NewProblem(model.ErrLimit, "daily_limit_reached", fmt.Sprintf("This perk can be used %d time(s) a day; the limit is reached.", perk.LimitPerDay))
				}
				return err
			}
		}
		if perk.LimitPerMonth > 0 {
			if err := tx.TakePerkUse(ctx, perk.ID, m.ID, "m:"+local.Format("2006-01"), perk.LimitPerMonth); err != nil {
				if errors.Is(err, model.ErrLimit) {
					return model.NewProblem(model.ErrLimit, "monthly_limit_reached", fmt.Sprintf("This perk can be used %d time(s) a month; the limit is reached.", perk.LimitPerMonth))
				}
				return err
			}
		}
		return tx.InsertOnlineRedemption(ctx, r, store.Standing{Tier: m.Tier, Perk: perk}, g.ClientID, in.BookingReference)
	})
	if errors.Is(err, store.ErrStandingChanged) {
		return nil, err
	}
	if errors.Is(err, model.ErrConflict) {
		// A concurrent retry with the same key won: answer as it did.
		if prev, ref, err2 := s.st.OnlineRedemptionByIdempotencyKey(ctx, keyID, idemKey); err2 == nil && same(prev, ref) {
			return answer(prev, true), nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("online redemption: %w", err)
	}
	return answer(r, false), nil
}

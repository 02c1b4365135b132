package partners

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// RedemptionWindow is how long after a valid scan its redemption may be recorded.
const RedemptionWindow = 30 * time.Minute

// RedeemInput is what the counter records.
type RedeemInput struct {
	VerificationID string `json:"verification_id"`
	PerkID         string `json:"perk_id"`
	PartySize      int    `json:"party_size"`
}

// Redemption is the answer to a redemption.
type Redemption struct {
	ID             string    `json:"id"`
	VerificationID string    `json:"verification_id"`
	PerkID         string    `json:"perk_id"`
	PartySize      int       `json:"party_size"`
	At             time.Time `json:"at"`
	Replayed       bool      `json:"idempotent_replay"`
}

func toRedemption(r *model.Redemption, replay bool) *Redemption {
	return &Redemption{ID: r.ID, VerificationID: r.VerificationID, PerkID: r.PerkID, PartySize: r.PartySize, At: r.At, Replayed: replay}
}

// Redeem records a use of a perk after a valid verification. Everything is
// checked and counted in one transaction: party size, the perk's daily and
// monthly limits (guarded upserts), a guest pass's uses (guarded update).
// Retrying with the same Idempotency-Key returns the first answer.
func (s *Service) Redeem(ctx context.Context, p *model.Principal, idemKey string, in RedeemInput) (*Redemption, error) {
	if p.VenueID == "" {
		return nil, model.NewProblem(model.ErrForbidden, "not_a_venue_key", "Only a venue's device or POS key can record redemptions.")
	}
	if len(idemKey) < 8 || len(idemKey) > 100 {
		return nil, model.Invalidf("Idempotency-Key", "idempotency_key_required", "send an Idempotency-Key header of 8 to 100 characters (a UUID per tap), reused on retries")
	}
	if _, err := uuid.Parse(in.VerificationID); err != nil {
		return nil, model.Invalidf("verification_id", "invalid_verification_id", "verification_id must be the id a valid verification returned")
	}
	if _, err := uuid.Parse(in.PerkID); err != nil {
		return nil, model.Invalidf("perk_id", "invalid_perk_id", "perk_id must be one of the perks the verification listed")
	}
	if in.PartySize < 1 {
		return nil, model.Invalidf("party_size", "invalid_party_size", "party_size must be at least 1 (the member or guest)")
	}
	out, err := s.redeemOnce(ctx, p, idemKey, in, true)
	if errors.Is(err, store.ErrStandingChanged) {
		// The standing changed between the read and the insert: read
		// again, and answer with what changed.
		out, err = s.redeemOnce(ctx, p, idemKey, in, false)
		if errors.Is(err, store.ErrStandingChanged) {
			return nil, model.NewProblem(model.ErrConflict, "revoked", "The card, the membership or the perk changed during the redemption. Do not give the discount; scan the code again.")
		}
	}
	if out == nil && (errors.Is(err, model.ErrConflict) || errors.Is(err, model.ErrLimit)) {
		// A concurrent retry with the same key may have won while this one
		// waited on its row lock (the pass is then used up, the limit
		// reached, or the insert collides): answer as the winner did.
		if prev, err2 := s.st.RedemptionByIdempotencyKey(ctx, p.ID, idemKey); err2 == nil &&
			prev.VerificationID == in.VerificationID && prev.PerkID == in.PerkID && prev.PartySize == in.PartySize {
			return toRedemption(prev, true), nil
		}
		var pr *model.Problem
		if errors.As(err, &pr) {
			return nil, err
		}
		return nil, model.NewProblem(model.ErrConflict, "already_redeemed", "This perk was already recorded for this scan.")
	}
	if err != nil {
		return nil, fmt.Errorf("redeem: %w", err)
	}
	return out, nil
}

// redeemOnce grants from memory what it can when fromMemory is set
// (redeemFromMemory: a share of one statement and one commit; a retry
// after a standing changed does not ask memory again); otherwise it reads every fact in one
// statement, decides in memory, and writes: a redemption of a perk without
// limits and without a guest pass is one more statement (the insert
// re-checks the standing as it writes), shared with the concurrent ones;
// limits and guest passes add their guarded updates, in one transaction
// with the insert.
func (s *Service) redeemOnce(ctx context.Context, p *model.Principal, idemKey string, in RedeemInput, fromMemory bool) (*Redemption, error) {
	if fromMemory {
		if out, ok, err := s.redeemFromMemory(ctx, p, idemKey, in); ok {
			return out, err
		}
	}
	s.factsFrom.database.Add(1)
	f, err := s.st.RedemptionFacts(ctx, p.ID, idemKey, in.VerificationID, in.PerkID)
	if err != nil {
		return nil, err
	}
	if prev := f.Prev; prev != nil {
		if prev.VerificationID != in.VerificationID || prev.PerkID != in.PerkID || prev.PartySize != in.PartySize {
			return nil, model.NewProblem(model.ErrConflict, "idempotency_key_reused", "This Idempotency-Key was used for a different redemption.")
		}
		return toRedemption(prev, true), nil
	}
	r, err := s.decide(f, p, idemKey, in)
	if err != nil {
		return nil, err
	}
	perk, pass, standing := f.Perk, f.Pass, standingOf(f)
	if pass == nil && perk.LimitPerDay == 0 && perk.LimitPerMonth == 0 {
		// Written with the other counters' redemptions of this moment, in
		// one statement and one commit (redeem_batch.go).
		if err := s.redemptions.Insert(ctx, r, standing); err != nil {
			return nil, err
		}
		return toRedemption(r, false), nil
	}
	local := r.At.In(s.tokyo)
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if pass != nil {
			if err := tx.UseGuestPass(ctx, pass.ID); err != nil {
				if !errors.Is(err, model.ErrLimit) {
					return err
				}
				// No use was left, or the pass was cancelled a moment ago.
				if fresh, err := tx.GuestPass(ctx, pass.ID); err == nil && fresh.Status == "cancelled" {
					return standingSinceScan(f.Card, f.Member, fresh)
				}
				return model.NewProblem(model.ErrLimit, "used_up", "The guest pass has no uses left.")
			}
		}
		if perk.LimitPerDay > 0 {
			if err := tx.TakePerkUse(ctx, perk.ID, r.MemberID, "d:"+local.Format("2006-01-02"), perk.LimitPerDay); err != nil {
				if errors.Is(err, model.ErrLimit) {
					return model.NewProblem(model.ErrLimit, "daily_limit_reached", fmt.Sprintf("This perk can be used %d time(s) a day; the limit is reached.", perk.LimitPerDay))
				}
				return err
			}
		}
		if perk.LimitPerMonth > 0 {
			if err := tx.TakePerkUse(ctx, perk.ID, r.MemberID, "m:"+local.Format("2006-01"), perk.LimitPerMonth); err != nil {
				if errors.Is(err, model.ErrLimit) {
					return model.NewProblem(model.ErrLimit, "monthly_limit_reached", fmt.Sprintf("This perk can be used %d time(s) a month; the limit is reached.", perk.LimitPerMonth))
				}
				return err
			}
		}
		return tx.InsertRedemptionIfStanding(ctx, r, standing)
	})
	if err != nil {
		return nil, err
	}
	return toRedemption(r, false), nil
}

// redeemFromMemory grants the common counter transaction — a perk without
// limits redeemed after a member's scan that this process answered a
// moment ago — without reading the database: the facts come from the
// verifier's memory (Options.RecentScans), kept current by the change feed
// as the scan's own answer was, and the insert re-checks the card, the
// member and the perk as it writes. ok is false, and nothing was written,
// when the facts are not in memory, or lead to anything but a grant, or the
// insert refuses the row (a reused idempotency key, a second redemption of
// the scan, a standing changed): every refusal and every replay is decided
// again from the database, so its answer is exactly the one it always was.
func (s *Service) redeemFromMemory(ctx context.Context, p *model.Principal, idemKey string, in RedeemInput) (*Redemption, bool, error) {
	if s.opt.RecentScans == nil {
		return nil, false, nil
	}
	f, ok := s.opt.RecentScans.RecentRedemptionFacts(in.VerificationID, in.PerkID)
	if !ok || f.Perk.LimitPerDay > 0 || f.Perk.LimitPerMonth > 0 || f.Pass != nil {
		return nil, false, nil
	}
	r, err := s.decide(f, p, idemKey, in)
	if err != nil {
		return nil, false, nil
	}
	err = s.redemptions.Insert(ctx, r, standingOf(f))
	switch {
	case err == nil:
		s.factsFrom.memory.Add(1)
		return toRedemption(r, false), true, nil
	case errors.Is(err, model.ErrConflict), errors.Is(err, store.ErrStandingChanged):
		return nil, false, nil
	}
	return nil, true, err
}

// standingOf is what a redemption decided on facts f was granted on, for
// its insert to check again as it writes.
func standingOf(f *store.RedemptionFacts) store.Standing {
	return store.Standing{CardID: f.Card.ID, Tier: f.Member.Tier, Perk: f.Perk}
}

// factsCounts counts where redemptions found their facts.
type factsCounts struct {
	memory, database atomic.Uint64
}

// RedemptionFactsRead is how many redemptions since start were granted from
// memory, and how many read their facts from the database.
func (s *Service) RedemptionFactsRead() (memory, database uint64) {
	return s.factsFrom.memory.Load(), s.factsFrom.database.Load()
}

// decide applies every rule of a redemption to the facts read, in memory,
// and returns the redemption to record.
func (s *Service) decide(f *store.RedemptionFacts, p *model.Principal, idemKey string, in RedeemInput) (*model.Redemption, error) {
	now := s.now()
	v := f.Verification
	if v == nil || v.PartnerID != p.PartnerID {
		return nil, model.NewProblem(model.ErrNotFound, "verification_not_found", "No verification with this id at this partner.")
	}
	switch {
	case v.Result != model.ResultValid || v.MemberID == nil:
		return nil, model.NewProblem(model.ErrConflict, "verification_not_valid", "Only a valid verification can be redeemed.")
	case now.Sub(v.At) > RedemptionWindow:
		return nil, model.NewProblem(model.ErrConflict, "verification_too_old", "This scan is too old to record; scan the code again.")
	}
	perk := f.Perk
	if perk == nil || perk.PartnerID != p.PartnerID || !perk.Active {
		return nil, model.NewProblem(model.ErrNotFound, "perk_not_found", "No active perk with this id at this partner.")
	}
	if !model.PerkOpen(perk.Days, perk.Hours, now.In(s.tokyo)) {
		return nil, model.NewProblem(model.ErrConflict, "perk_not_available_now", "This perk is not offered at this day or hour.")
	}
	m := f.Member
	if m == nil {
		return nil, fmt.Errorf("member %s of verification %s: %w", *v.MemberID, v.ID, model.ErrNotFound)
	}
	// The scan was valid, but the card, the membership or the guest pass
	// may have changed since: they were read again with the facts (and the
	// insert checks once more as it writes); refuse with what changed.
	pass := f.Pass
	if v.GuestPassID != nil && pass == nil {
		return nil, fmt.Errorf("guest pass %s: %w", *v.GuestPassID, model.ErrNotFound)
	}
	if (v.CardID == nil && pass == nil) || f.Card == nil {
		return nil, model.NewProblem(model.ErrConflict, "verification_not_valid", "Only a valid verification can be redeemed.")
	}
	card := f.Card
	if err := standingSinceScan(card, m, pass); err != nil {
		return nil, err
	}
	if !model.TierEligible(perk.EligibleTiers, m.Tier) {
		return nil, model.NewProblem(model.ErrConflict, "not_eligible", "This perk is not offered to this membership tier.")
	}
	maxParty := min(1+perk.Companions, 1+card.Companions)
	if pass != nil {
		maxParty = min(1+perk.Companions, pass.PartySize)
	}
	if in.PartySize > maxParty {
		return nil, model.Invalidf("party_size", "party_too_large", fmt.Sprintf("This perk covers at most %d people here.", maxParty))
	}
	return &model.Redemption{ID: uuid.Must(uuid.NewV7()).String(), VerificationID: v.ID, IdempotencyKey: idemKey, APIKeyID: p.ID,
		PerkID: perk.ID, PartnerID: p.PartnerID, VenueID: p.VenueID, MemberID: m.ID, CardID: v.CardID, GuestPassID: v.GuestPassID,
		PartySize: in.PartySize, At: now}, nil
}

// standingSinceScan refuses a redemption whose card was re-issued or
// revoked, whose membership was suspended or revoked, or whose guest pass
// was cancelled after the scan, with the code a scan would answer now.
func standingSinceScan(card *model.Card, m *model.Member, pass *model.GuestPass) error {
	switch {
	case card.Status != model.CardActive || m.Status == model.MemberRevoked:
		return model.NewProblem(model.ErrConflict, "revoked", "The card was re-issued or revoked after the scan. Do not give the discount.")
	case m.Status != model.MemberActive:
		return model.NewProblem(model.ErrConflict, "suspended", "The membership was suspended after the scan. Do not give the discount.")
	case pass != nil && pass.Status == "cancelled":
		return model.NewProblem(model.ErrConflict, "cancelled", "The guest pass was cancelled after the scan. Do not give the discount.")
	case pass != nil && pass.Status != "active":
		return model.NewProblem(model.ErrConflict, "revoked", "The guest pass is no longer valid. Do not give the discount.")
	}
	return nil
}

// ReportLine is one redemption as its partner sees it.
type ReportLine struct {
	At        time.Time `json:"at"`
	Venue     string    `json:"venue"`
	Perk      string    `json:"perk"`
	PartySize int       `json:"party_size"`
	Member    string    `json:"member"` // per-partner pseudonym
	Guest     bool      `json:"guest"`
}

// Report lists a partner's redemptions since a time, with pseudonyms only.
func (s *Service) Report(ctx context.Context, p *model.Principal, partnerID string, since time.Time) ([]ReportLine, error) {
	if err := canSee(p, partnerID); err != nil {
		return nil, err
	}
	rows, err := s.st.PartnerRedemptions(ctx, partnerID, since, 10000)
	if err != nil {
		return nil, err
	}
	out := make([]ReportLine, len(rows))
	for i, r := range rows {
		out[i] = ReportLine{At: r.At, Venue: r.VenueName, Perk: r.PerkTitle, PartySize: r.PartySize, Member: s.Pseudonym(r.MemberID, partnerID), Guest: r.Guest}
	}
	return out, nil
}

package verify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
)

// Why a listed perk (or, at the top of the answer, every perk) cannot be used
// now. The limit codes are the error codes POST /api/v1/redemptions would
// answer, so a counter that trusts the verify answer never meets a refusal
// the scan did not announce.
const (
	UnusableDailyLimit   = "daily_limit_reached"
	UnusableMonthlyLimit = "monthly_limit_reached"
	UnusableRecorded     = "already_recorded"
	UnusableClosed       = "not_available_now"
)

// Why a card code was stale.
const (
	// StaleClock: the phone's clock is wrong — the code is from the future
	// (no picture can be), or its offset matches what the wallet reported of
	// its own clock, or it is steady across scans a minute or more apart.
	StaleClock = "clock"
	// StaleOldCode: anything else: likely a screenshot; ask for the live card.
	StaleOldCode = "old_code"
)

// How the server tells a clock from a picture.
const (
	// clockReportLife: a wallet's reported clock offset is trusted this long.
	clockReportLife = 24 * time.Hour
	// clockMatch: how close (seconds) a code's offset must be to the
	// reported one, or to the last stale scan's, to be the same clock.
	clockMatch = 45
	// steadyAfter: two stale scans this far apart with the same offset show
	// a steady clock; a picture's offset would have grown by the time between.
	steadyAfter = time.Minute
	// steadyWithin: an earlier stale scan older than this says nothing.
	steadyWithin = time.Hour
)

// Recorded is a redemption already recorded against the verification, as a
// re-scan of the same code reports it.
type Recorded struct {
	PerkID    string    `json:"perk_id"`
	PartySize int       `json:"party_size"`
	At        time.Time `json:"at"`
}

// perkView is a perk as the verify answer lists it, before the holder's
// usage is known.
func perkView(pk model.Perk, local time.Time) PerkView {
	return PerkView{ID: pk.ID, Title: pk.Title, TitleEn: pk.TitleEn, Companions: pk.Companions,
		limitDay: pk.LimitPerDay, limitMonth: pk.LimitPerMonth, closed: !model.PerkOpen(pk.Days, pk.Hours, local)}
}

// openPerks keeps the perks whose schedule admits now. When the tier has
// perks here but none is open, the answer says so (not_available_now)
// rather than letting "not eligible" suggest the tier is wrong.
func openPerks(d *Decision, perks []PerkView) []PerkView {
	open := perks[:0:0]
	for _, p := range perks {
		if !p.closed {
			open = append(open, p)
		}
	}
	if len(open) == 0 && len(perks) > 0 {
		d.UnusableReason = UnusableClosed
	}
	return open
}

// usability marks which listed perks the holder can use now: the perk's
// daily and monthly limits against the member's uses so far (one read of
// perk_usage for every limited perk of the partner, none when no perk has a
// limit), and how many people each covers (partyCap: 1 + the card's
// companions, or the guest pass's party). passUsesLeft bounds uses_left for
// a guest pass (-1 for a card). companions_allowed becomes the best usable
// perk's.
func (v *Verifier) usability(ctx context.Context, d *Decision, partyCap, passUsesLeft int, now time.Time) error {
	local := now.In(v.tokyo)
	day, month := "d:"+local.Format("2006-01-02"), "m:"+local.Format("2006-01")
	var ids, periods []string
	var anyDay, anyMonth bool
	for _, p := range d.Perks {
		if p.limitDay > 0 || p.limitMonth > 0 {
			ids = append(ids, p.ID)
		}
		anyDay = anyDay || p.limitDay > 0
		anyMonth = anyMonth || p.limitMonth > 0
	}
	if anyDay {
		periods = append(periods, day)
	}
	if anyMonth {
		periods = append(periods, month)
	}
	used := map[string]int{}
	if len(ids) > 0 {
		rows, err := v.st.PerkUses(ctx, d.memberID, ids, periods)
		if err != nil {
			return unavailable("perk usage", err)
		}
		for _, r := range rows {
			used[r.PerkID+"|"+r.Period] = r.Uses
		}
	}
	d.Usable, d.UnusableReason = false, ""
	companions := 0
	for i := range d.Perks {
		p := &d.Perks[i]
		p.MaxParty = max(1, min(1+p.Companions, partyCap))
		left, reason := -1, ""
		if p.limitDay > 0 {
			left = p.limitDay - used[p.ID+"|"+day]
			if left <= 0 {
				reason = UnusableDailyLimit
			}
		}
		if p.limitMonth > 0 {
			l := p.limitMonth - used[p.ID+"|"+month]
			if left < 0 || l < left {
				left = l
			}
			if l <= 0 && reason == "" {
				reason = UnusableMonthlyLimit
			}
		}
		if passUsesLeft >= 0 && (left < 0 || passUsesLeft < left) {
			left = passUsesLeft
		}
		if left >= 0 {
			n := max(left, 0)
			p.UsesLeft = &n
		}
		p.Usable, p.UnusableReason = reason == "", reason
		if p.Usable {
			d.Usable = true
			companions = max(companions, p.MaxParty-1)
		} else if d.UnusableReason == "" {
			d.UnusableReason = reason
		}
	}
	if d.Usable {
		d.UnusableReason = ""
	}
	d.CompanionsAllowed = min(d.CompanionsAllowed, companions)
	return nil
}

// staleCause tells a wrong phone clock from an old code (DESIGN §4,
// issue 19): "clock" only when the code is from the future, when its offset
// matches the offset the card's wallet measured against the server at its
// last sync, or when an earlier stale scan of the card, a minute or more
// before, had the same offset (a steady clock; a screenshot's offset grows
// with its age). The scan's offset is kept for the next comparison. Only
// stale scans pay for this (two statements); if they fail, the answer is
// the cautious one.
func (v *Verifier) staleCause(ctx context.Context, cardID string, offsetSteps int, found bool, now time.Time) string {
	if !found {
		return StaleOldCode
	}
	secs := offsetSteps * 30
	before, err := v.st.SeeStaleOffset(ctx, cardID, secs, now)
	switch {
	case offsetSteps > 0:
		return StaleClock
	case err != nil:
		return StaleOldCode
	case before.ReportedMS != nil && now.Sub(*before.ReportedAt) < clockReportLife &&
		abs(secs+int(*before.ReportedMS/1000)) <= clockMatch:
		// A phone slow by P seconds (server − phone = +P) shows the code of now − P.
		return StaleClock
	case before.StaleSeconds != nil && now.Sub(*before.StaleAt) >= steadyAfter && now.Sub(*before.StaleAt) < steadyWithin &&
		abs(secs-*before.StaleSeconds) <= clockMatch:
		return StaleClock
	}
	return StaleOldCode
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// finish completes an answer once the scan is on record: a re-scan of a
// code whose redemption was already recorded says so (and offers nothing
// more), and the plain-English reason follows what can be used.
func (v *Verifier) finish(ctx context.Context, d *Decision) error {
	switch {
	case d.Result != model.ResultValid:
		d.Usable, d.Perks = false, nil
		if d.Result != model.ResultNotEligible {
			d.UnusableReason = ""
		}
	case d.Repeat:
		rows, err := v.st.VerificationRedemptions(ctx, d.VerificationID)
		if err != nil {
			return unavailable("redemptions of a repeat scan", err)
		}
		for _, r := range rows {
			d.Redemptions = append(d.Redemptions, Recorded{PerkID: r.PerkID, PartySize: r.PartySize, At: r.At})
			for i := range d.Perks {
				if d.Perks[i].ID == r.PerkID {
					d.Perks[i].Usable, d.Perks[i].UnusableReason = false, UnusableRecorded
				}
			}
		}
		if len(rows) > 0 {
			d.Redeemed, d.Usable, d.UnusableReason = true, false, UnusableRecorded
		}
	}
	d.Reason = Reason(d.Result)
	if d.UnusableReason != "" {
		d.Reason = UnusableText(d.UnusableReason)
	}
	return nil
}

// unavailable wraps a failed read: the scan cannot be decided, so the
// answer is 503 unavailable, never a guess.
func unavailable(what string, err error) error {
	if errors.Is(err, model.ErrUnavailable) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %w: %v", what, model.ErrUnavailable, err)
}

// UnusableText is the plain-English reason no perk can be used now.
func UnusableText(reason string) string {
	switch reason {
	case UnusableDailyLimit:
		return "Valid, but the perk's daily limit is already used: do not give it again today."
	case UnusableMonthlyLimit:
		return "Valid, but the perk's monthly limit is already used: do not give it again this month."
	case UnusableRecorded:
		return "Already recorded: this scan's perk was given; do not give it twice."
	case UnusableClosed:
		return "The perk is not offered at this day or hour."
	}
	return ""
}

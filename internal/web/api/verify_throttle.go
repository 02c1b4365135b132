package api

import (
	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/credential"
	"github.com/alumnipass/alumnipass/internal/model"
)

// The guessing throttle of POST /api/v1/verify.
//
// A guesser holding a picture of a card tries TOTP values. Two rules keep
// the throttle from telling it anything:
//
//   - The decision is made before the code is checked: once a card (or a
//     key) is throttled, every scan of it gets the same 429 with Retry-After,
//     right code or wrong. (Withholding only the valid answer, as before,
//     told the guesser which code was right.)
//   - A scan takes its place in the budget before it is decided and gives it
//     back if it was not a failure, so concurrent requests cannot all pass
//     the check before any of them is counted.
//
// Failures of a card count across every device key; each key also has its
// own budget of refused codes, and the keys of a venue are capped
// (partners.Options.MaxKeysPerVenue).

// guessFailure says whether a verification result counts against the
// budgets: a code refused as forged, signed by an unknown key, or stale.
func guessFailure(result string) bool {
	return result == model.ResultInvalid || result == model.ResultUnknownKey || result == model.ResultStale
}

// cardOfCode is the card a card code names, read without checking it, or
// "" for anything else (guest passes have no TOTP to guess). A forged code
// naming a card can only meet that card's throttle, never lift it.
func cardOfCode(code string) string {
	p, err := credential.Parse(code)
	if err != nil || p.Kind != credential.KindCard {
		return ""
	}
	return uuid.UUID(p.Card.CardID).String()
}

package api

import (
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/credential"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
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
//
// Across instances: each instance bounds a burst with its own budgets,
// and every failure is also counted in the database after the decision
// (countGuess). A key or card that passes its budget there is blocked on
// every instance, which refuses it from memory before the next decision
// (the same 429, right code or wrong), so a valid scan pays no database
// round trip. The bound with N instances is in docs/security.md.

// takeGuess refuses a key or card blocked on every instance (a look in
// memory), then takes this scan's place in the instance's own budgets of
// the key and the card (may be ""). A refusal names the limit
// ("verify_key" or "verify_card") and the wait.
func (h *Handler) takeGuess(keyID, card string) (keySlot, cardSlot httpkit.Slot, limit string, wait time.Duration) {
	if wait, blocked := h.limits.Guesses.KeyBlocked(keyID); blocked {
		return keySlot, cardSlot, "verify_key", wait
	}
	if card != "" {
		if wait, blocked := h.limits.Guesses.CardBlocked(card); blocked {
			return keySlot, cardSlot, "verify_card", wait
		}
	}
	keySlot, ok, wait := h.limits.BadCodes.Take(keyID)
	if !ok {
		return keySlot, cardSlot, "verify_key", wait
	}
	if card != "" {
		if cardSlot, ok, wait = h.limits.BadCard.Take(card); !ok {
			h.limits.BadCodes.Refund(keySlot)
			return httpkit.Slot{}, cardSlot, "verify_card", wait
		}
	}
	return keySlot, cardSlot, "", 0
}

// countGuess counts a failure across instances after the decision: the
// key's, and the card's when the code was stale. A valid scan costs
// nothing here. When the count cannot be written the answer is withheld
// (503): a failure the other instances do not learn of would widen the
// budget.
func (h *Handler) countGuess(c *fiber.Ctx, keyID, card, result string) error {
	if !guessFailure(result) {
		return nil
	}
	if result != model.ResultStale {
		card = ""
	}
	if err := h.limits.Guesses.Fail(c.UserContext(), keyID, card); err != nil {
		return fmt.Errorf("%w (%w)", httpkit.ErrLimitUnavailable, err)
	}
	return nil
}

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

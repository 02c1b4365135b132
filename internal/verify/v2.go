package verify

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/credential"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// decideCardV2 decides a format version 2 code: a card bound to the
// member's phone, whose live part is the phone's ECDSA signature over the
// current 30-s step (docs/credential-format.md, section 12). The signed
// part must be byte-identical to the one this issuer made when it bound
// the card, so no Ed25519 check is needed; the device signature is always
// checked, and the step must be within TOTPWindow of now, as a TOTP is.
func (v *Verifier) decideCardV2(ctx context.Context, p *model.Principal, code string, now time.Time, d *Decision, rec *model.Verification, claim **store.CodeUse, claimExpires *time.Time) error {
	d.Kind, rec.Kind = "member", "member"
	parsed, err := credential.ParseV2(code)
	if err != nil {
		d.Result = model.ResultInvalid
		rec.Detail = truncate(err.Error(), 200)
		return nil
	}
	pub, ok := v.keys.PublicKey(parsed.KeyID)
	if !ok {
		d.Result = model.ResultUnknownKey
		return nil
	}
	c := parsed.Card
	cardID := uuid.UUID(c.CardID).String()
	e, err := v.issuedCard(ctx, cardID, parsed.SignedPart, func(e *cardEntry) string { return e.state.SignedPartV2 },
		func() bool { return parsed.VerifySignature(pub) }, d, rec)
	if e == nil || err != nil {
		return err
	}
	if !parsed.VerifyDevice() {
		d.Result = model.ResultInvalid
		rec.Detail = "device signature does not verify"
		return nil
	}
	// ECDSA signatures are randomised (and malleable): the same step has
	// many texts, so the code is known by its card and step.
	rec.CodeHash = hashCode(fmt.Sprintf("%s%s:%d", credential.PrefixV2, cardID, parsed.Step))
	d.cardID, d.memberID = cardID, e.state.MemberID
	d.Tier = e.state.Tier
	if d.Result = standing(e.state.CardStatus == model.CardActive, e.state.MemberStatus, now, c.IssuedAt, c.ExpiresAt); d.Result != "" {
		return nil
	}
	if offset := parsed.StepOffset(now); offset < -TOTPWindow || offset > TOTPWindow {
		d.Result = model.ResultStale
		steps := int(max(min(offset, TOTPSearch), -TOTPSearch))
		secs := steps * 30
		d.OffsetSeconds = &secs
		d.StaleCause = v.staleCause(ctx, cardID, steps, true, now)
		rec.Detail = fmt.Sprintf("v2 step offset %d steps", offset)
		return nil
	}
	return v.grantCard(ctx, p, e, int(c.Companions), now, d, rec, claim, claimExpires)
}

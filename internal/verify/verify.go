// Package verify makes the scan decision: is this code good here, now, for
// whom, and which perks apply. It fails closed: when the database cannot be
// reached it returns model.ErrUnavailable, never "valid". Card, key and perk
// state is cached in memory and dropped on every change any instance
// announces (LISTEN/NOTIFY); while that feed is down, the cache is bypassed.
package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/credential"
	"github.com/alumnipass/alumnipass/internal/keyring"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/seal"
	"github.com/alumnipass/alumnipass/internal/store"
)

// Freshness rules of card codes.
const (
	// TOTPWindow is how many 30-second steps either side are accepted.
	TOTPWindow = 1
	// TOTPSearch is how far (in steps) a refused code is searched to tell
	// a wrong phone clock from an old screenshot: 12 hours.
	TOTPSearch = 1440
	// CodeLife is how long a card code text stays claimable (its TOTP
	// window); replays are detected for at least this long.
	CodeLife = 2 * time.Minute
)

// PerkView is a perk as the counter sees it, and whether this holder can
// use it now (usability.go).
type PerkView struct {
	ID             string `json:"id"`
	Title          string `json:"title"`
	TitleEn        string `json:"title_en,omitempty"`
	Companions     int    `json:"companions"`
	MaxParty       int    `json:"max_party"`
	Usable         bool   `json:"usable"`
	UnusableReason string `json:"unusable_reason,omitempty"`
	UsesLeft       *int   `json:"uses_left,omitempty"`

	limitDay, limitMonth int
	closed               bool // its days or hours do not admit now
}

// Decision is the answer to one scan.
type Decision struct {
	Result            string     `json:"result"`
	VerificationID    string     `json:"verification_id,omitempty"`
	Kind              string     `json:"kind,omitempty"`
	DisplayName       string     `json:"display_name,omitempty"`
	Tier              string     `json:"tier,omitempty"`
	CompanionsAllowed int        `json:"companions_allowed"`
	PartySize         int        `json:"party_size,omitempty"`
	Perks             []PerkView `json:"perks,omitempty"`
	Usable            bool       `json:"usable"`
	UnusableReason    string     `json:"unusable_reason,omitempty"`
	Repeat            bool       `json:"repeat"`
	Redeemed          bool       `json:"redeemed,omitempty"`
	Redemptions       []Recorded `json:"redemptions,omitempty"`
	FirstUsedAt       *time.Time `json:"first_used_at,omitempty"`
	FirstVenue        string     `json:"first_venue,omitempty"`
	OffsetSeconds     *int       `json:"offset_seconds,omitempty"`
	StaleCause        string     `json:"stale_cause,omitempty"`
	ValidUntil        *time.Time `json:"valid_until,omitempty"`
	Reason            string     `json:"reason"`
	CheckedAt         time.Time  `json:"checked_at"`

	cardID, passID, memberID string
	cardCompanions           int // a member card's signed companions (grantCard)
}

// CardID is the card (or the guest pass's host card) the decision is about.
func (d *Decision) CardID() string { return d.cardID }

// Verifier decides scans.
type Verifier struct {
	st     Storer
	keys   *keyring.Keyring
	sealer *seal.Sealer
	now    func() time.Time
	log    *Log
	events *store.Events

	tokyo *time.Location

	cache  *cache
	loader *cardLoader
	recent *recentScans
}

type cardEntry struct {
	state  store.CardState
	secret []byte
}

// New makes a verifier writing through log that keeps at most cacheSize
// cards in memory (0: none, every scan reads the database).
func New(st Storer, keys *keyring.Keyring, sealer *seal.Sealer, log *Log, now func() time.Time, cacheSize int) *Verifier {
	v := &Verifier{st: st, keys: keys, sealer: sealer, now: now, log: log, events: st.Events(), tokyo: model.JST(),
		cache: newCache(cacheSize), loader: newCardLoader(st, 2, 256, 5*time.Second), recent: newRecentScans(recentScansKept)}
	st.Events().Subscribe(v.cache.invalidate)
	return v
}

// Close stops the card reads; scans after it are answered unavailable.
func (v *Verifier) Close() { v.loader.close() }

// CachedCards is how many cards the verifier holds in memory now.
func (v *Verifier) CachedCards() int { return v.cache.len() }

// Verify decides a scan by a venue's device.
func (v *Verifier) Verify(ctx context.Context, p *model.Principal, code string) (*Decision, error) {
	return v.verifyAt(ctx, p, code, v.now(), "")
}

// verifyAt decides and records a scan as of now; note, when set, leads the
// record's detail (an offline scan uploaded later, offline_scans.go).
func (v *Verifier) verifyAt(ctx context.Context, p *model.Principal, code string, now time.Time, note string) (*Decision, error) {
	if p == nil || p.VenueID == "" || p.PartnerID == "" {
		return nil, model.NewProblem(model.ErrForbidden, "not_a_venue_key", "Only a venue's device or POS key can verify codes.")
	}
	d := &Decision{CheckedAt: now}
	rec := model.Verification{ID: newID(), At: now, PartnerID: p.PartnerID, VenueID: p.VenueID, APIKeyID: p.ID, Kind: "unknown", CodeHash: hashCode(code)}
	var claim *store.CodeUse
	var claimExpires time.Time
	err := v.decide(ctx, p, code, now, d, &rec, &claim, &claimExpires)
	if err != nil {
		return nil, err
	}
	if note != "" {
		rec.Detail = truncate(strings.TrimSuffix(note+"; "+rec.Detail, "; "), 200)
	}
	if d.Result != model.ResultValid {
		claim = nil
	} else {
		d.VerificationID = rec.ID
	}
	rec.Result = d.Result
	if d.cardID != "" {
		rec.CardID = &d.cardID
	}
	if d.passID != "" {
		rec.GuestPassID = &d.passID
	}
	if d.memberID != "" {
		rec.MemberID = &d.memberID
	}
	res, err := v.log.Write(ctx, entry{rec: rec, claim: claim, expires: claimExpires})
	if err != nil {
		return nil, fmt.Errorf("record verification: %w", err)
	}
	if res.first != nil {
		at := res.first.At
		if res.first.VenueID == p.VenueID {
			d.Repeat, d.VerificationID = true, res.first.VerificationID
		} else {
			d.Result, d.VerificationID, d.Perks, d.CompanionsAllowed = model.ResultReplayed, "", nil, 0
			d.DisplayName, d.Tier, d.PartySize, d.Kind = "", "", 0, rec.Kind
			d.FirstUsedAt, d.FirstVenue = &at, res.first.VenueName
		}
	}
	if err := v.finish(ctx, d); err != nil {
		return nil, err
	}
	if d.Result == model.ResultValid && res.first == nil && d.passID == "" && d.cardID != "" {
		// The redemption that follows is decided from memory (recent.go).
		v.recent.add(rec.ID, recentScan{at: rec.At, partnerID: p.PartnerID, cardID: d.cardID, memberID: d.memberID, companions: d.cardCompanions})
	}
	return d, nil
}

// decide fills d with the outcome, without writing anything.
func (v *Verifier) decide(ctx context.Context, p *model.Principal, code string, now time.Time, d *Decision, rec *model.Verification, claim **store.CodeUse, claimExpires *time.Time) error {
	if credential.IsV2(code) {
		return v.decideCardV2(ctx, p, code, now, d, rec, claim, claimExpires)
	}
	parsed, err := credential.Parse(code)
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
	switch parsed.Kind {
	case credential.KindCard:
		d.Kind, rec.Kind = "member", "member"
		return v.decideCard(ctx, p, parsed, pub, now, d, rec, claim, claimExpires)
	case credential.KindGuest:
		d.Kind, rec.Kind = "guest", "guest"
		return v.decideGuest(ctx, p, parsed, pub, now, d, rec, claim, claimExpires)
	}
	d.Result = model.ResultInvalid
	return nil
}

func (v *Verifier) decideCard(ctx context.Context, p *model.Principal, parsed *credential.Parsed, pub []byte, now time.Time, d *Decision, rec *model.Verification, claim **store.CodeUse, claimExpires *time.Time) error {
	c := parsed.Card
	cardID := uuid.UUID(c.CardID).String()
	e, err := v.issuedCard(ctx, cardID, parsed.SignedPart, func(e *cardEntry) string { return e.state.SignedPart },
		func() bool { return parsed.VerifySignature(pub) }, d, rec)
	if e == nil || err != nil {
		return err
	}
	if e.state.SignedPartV2 != "" { // bound to a device: only its v2 codes count
		d.Result = model.ResultInvalid
		rec.Detail = "card is bound to a device; version 1 code refused"
		return nil
	}
	d.cardID, d.memberID = cardID, e.state.MemberID
	d.Tier = e.state.Tier
	if d.Result = standing(e.state.CardStatus == model.CardActive, e.state.MemberStatus, now, c.IssuedAt, c.ExpiresAt); d.Result != "" {
		return nil
	}
	offset, ok, found := credential.MatchTOTP(e.secret, parsed.TOTP, now, TOTPWindow, TOTPSearch)
	if !ok {
		d.Result = model.ResultStale
		if found {
			secs := offset * 30
			d.OffsetSeconds = &secs
		}
		d.StaleCause = v.staleCause(ctx, cardID, offset, found, now)
		rec.Detail = fmt.Sprintf("totp offset %d steps (found=%v)", offset, found)
		return nil
	}
	return v.grantCard(ctx, p, e, int(c.Companions), now, d, rec, claim, claimExpires)
}

// issuedCard finds the card a code names and checks that the code's signed
// part is byte-identical to the one on record (v1 or v2, as onRecord picks):
// the online verifier holds what it issued, so that needs no Ed25519 check.
// Otherwise it decides invalid and returns nil; only then is the signature
// checked in full, to log whether the code was forged or is ours but unknown.
func (v *Verifier) issuedCard(ctx context.Context, cardID, signedPart string, onRecord func(*cardEntry) string, signatureOK func() bool, d *Decision, rec *model.Verification) (*cardEntry, error) {
	e, err := v.card(ctx, cardID)
	if errors.Is(err, model.ErrNotFound) {
		d.Result = model.ResultInvalid
		if signatureOK() {
			rec.Detail = "signed card unknown to this issuer"
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if want := onRecord(e); want == "" || signedPart != want {
		d.Result = model.ResultInvalid
		if signatureOK() {
			rec.Detail = "signed part differs from the card on record"
		}
		return nil, nil
	}
	return e, nil
}

// grantCard finishes the decision about a fresh card in good standing,
// whatever its format: the perks that apply here now, or not_eligible;
// for a valid answer, the holder's name, companions, what can be used, and
// the claim of the code's first use.
func (v *Verifier) grantCard(ctx context.Context, p *model.Principal, e *cardEntry, companions int, now time.Time, d *Decision, rec *model.Verification, claim **store.CodeUse, claimExpires *time.Time) error {
	perks, err := v.perksFor(ctx, p.PartnerID, e.state.Tier, now)
	if err != nil {
		return err
	}
	if perks = openPerks(d, perks); len(perks) == 0 {
		d.Result = model.ResultNotEligible
		return nil
	}
	d.Result = model.ResultValid
	d.cardCompanions = companions
	d.DisplayName = displayName(e.state.FamilyName, e.state.GivenName, e.state.Locale)
	d.Perks = perks
	d.CompanionsAllowed = min(companions, maxCompanions(perks))
	if err := v.usability(ctx, d, 1+companions, -1, now); err != nil {
		return err
	}
	*claim = &store.CodeUse{CodeHash: rec.CodeHash, VerificationID: rec.ID, VenueID: p.VenueID, At: now}
	*claimExpires = now.Add(CodeLife)
	return nil
}

func (v *Verifier) decideGuest(ctx context.Context, p *model.Principal, parsed *credential.Parsed, pub []byte, now time.Time, d *Decision, rec *model.Verification, claim **store.CodeUse, claimExpires *time.Time) error {
	if !parsed.VerifySignature(pub) {
		d.Result = model.ResultInvalid
		return nil
	}
	g := parsed.Guest
	passID := uuid.UUID(g.PassID).String()
	pass, err := v.st.GuestPass(ctx, passID)
	if errors.Is(err, model.ErrNotFound) {
		d.Result = model.ResultInvalid
		rec.Detail = "signed guest pass unknown to this issuer"
		return nil
	}
	if err != nil {
		return err
	}
	host, err := v.card(ctx, pass.CardID)
	if err != nil {
		return err
	}
	d.passID, d.cardID, d.memberID = passID, pass.CardID, pass.MemberID
	d.Tier, d.PartySize = host.state.Tier, pass.PartySize
	until := pass.ValidUntil
	d.ValidUntil = &until
	live := pass.Status == "active" && host.state.CardStatus == model.CardActive
	if d.Result = standing(live, host.state.MemberStatus, now, pass.ValidFrom, pass.ValidUntil); d.Result != "" {
		return nil
	}
	if pass.Uses >= pass.MaxUses {
		d.Result = model.ResultUsedUp
		if at, venue, err := v.st.FirstGuestRedemption(ctx, passID); err == nil {
			d.FirstUsedAt, d.FirstVenue = &at, venue
		} else if !errors.Is(err, model.ErrNotFound) {
			return err
		}
		return nil
	}
	perks, err := v.perksFor(ctx, p.PartnerID, host.state.Tier, now)
	if err != nil {
		return err
	}
	if perks = openPerks(d, perks); len(perks) == 0 {
		d.Result = model.ResultNotEligible
		return nil
	}
	d.Result = model.ResultValid
	d.DisplayName = guestName(host.state.FamilyName, host.state.Locale)
	d.Perks = perks
	d.CompanionsAllowed = min(max(pass.PartySize-1, 0), maxCompanions(perks))
	if err := v.usability(ctx, d, pass.PartySize, pass.MaxUses-pass.Uses, now); err != nil {
		return err
	}
	// A guest pass may be used several times (max_uses) and at several
	// venues, so its claim is per venue and short: a re-scan here within
	// CodeLife returns the first verification; a later visit is a new one.
	*claim = &store.CodeUse{CodeHash: hashCode(parsed.SignedPart + "@" + p.VenueID), VerificationID: rec.ID, VenueID: p.VenueID, At: now}
	*claimExpires = now.Add(CodeLife)
	return nil
}

// standing is the outcome of a credential's status and validity window,
// or "" when it may be used: revoked, suspended, not yet valid, expired.
func standing(live bool, memberStatus string, now, from, until time.Time) string {
	switch {
	case !live || memberStatus == string(model.MemberRevoked):
		return model.ResultRevoked
	case memberStatus == string(model.MemberSuspended):
		return model.ResultSuspended
	case now.Before(from):
		return model.ResultNotYetValid
	case !now.Before(until):
		return model.ResultExpired
	}
	return ""
}

// card returns a card's state, from the cache when the change feed is healthy.
func (v *Verifier) card(ctx context.Context, id string) (*cardEntry, error) {
	healthy := v.events.Healthy()
	e, ok, gen := v.cache.card(id)
	if ok && healthy {
		return e, nil
	}
	st, err := v.loader.load(ctx, id)
	if err != nil {
		return nil, err
	}
	var secret []byte
	if st.CardStatus == model.CardActive { // a revoked card is refused without its secret
		if secret, err = v.sealer.Open(st.SecretEnc, "card:"+id); err != nil {
			return nil, fmt.Errorf("card %s secret: %w", id, err)
		}
	}
	e = &cardEntry{state: *st, secret: secret}
	e.state.SecretEnc = nil
	if healthy {
		v.cache.putCard(id, e, gen)
	}
	return e, nil
}

// perksFor lists the active perks of a partner a tier is eligible for, each
// marked closed when its schedule does not admit now (Japan time).
func (v *Verifier) perksFor(ctx context.Context, partnerID, tier string, now time.Time) ([]PerkView, error) {
	healthy := v.events.Healthy()
	all, ok, gen := v.cache.partnerPerks(partnerID)
	if !ok || !healthy {
		var err error
		all, err = v.st.PartnerPerks(ctx, partnerID, true)
		if err != nil {
			return nil, err
		}
		if healthy {
			v.cache.putPerks(partnerID, all, gen)
		}
	}
	var out []PerkView
	for _, pk := range all {
		if model.TierEligible(pk.EligibleTiers, tier) {
			out = append(out, perkView(pk, now.In(v.tokyo)))
		}
	}
	return out, nil
}

func maxCompanions(ps []PerkView) int {
	m := 0
	for _, p := range ps {
		m = max(m, p.Companions)
	}
	return m
}

// displayName is the family name and the given name's initial, in the
// holder's locale; nothing more reaches a partner.
func displayName(family, given, locale string) string {
	return model.Member{FamilyName: family, GivenName: given, Locale: locale}.DisplayName()
}

func guestName(hostFamily, locale string) string {
	if locale == "en" {
		return "Guest of " + hostFamily
	}
	return hostFamily + " 様のゲスト"
}

func hashCode(code string) string {
	sum := sha256.Sum256([]byte(strings.Trim(code, " \t\r\n")))
	return hex.EncodeToString(sum[:16])
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// Reason is the plain-English reason for a result; the scanner page shows
// its own translated text by result.
func Reason(result string) string {
	switch result {
	case model.ResultValid:
		return "Valid: the perk applies."
	case model.ResultInvalid:
		return "Not an alumnipass code, or it has been altered."
	case model.ResultUnknownKey:
		return "Signed by a key this service does not (or no longer) trust."
	case model.ResultExpired:
		return "The card or pass has expired."
	case model.ResultNotYetValid:
		return "The card or pass is not valid yet."
	case model.ResultRevoked:
		return "The membership or pass has been revoked."
	case model.ResultSuspended:
		return "The membership is suspended."
	case model.ResultStale:
		return "The code is old: a screenshot, or the phone's clock is wrong."
	case model.ResultReplayed:
		return "This code was already used at another venue."
	case model.ResultUsedUp:
		return "The guest pass has no uses left."
	case model.ResultNotEligible:
		return "No perk here for this membership tier."
	}
	return ""
}

// Package offline decides about a code without the server: from keys.json,
// the signed status list and a clock, as a scanner without a network or a
// POS vendor's own software must. It is pure (no I/O): callers read the
// files and pass the time; `alumnipass verify-offline` is a thin wrapper.
//
// What an offline decision can check: the issuer's signature, the validity
// window, the device signature and its step (version 2 cards), and the
// status list, as long as the list is younger than a limit. What it cannot:
// the freshness of a version 1 card (its TOTP secret is the server's),
// replays at other venues and guest-pass use counts. The verdict says so.
package offline

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/credential"
	"github.com/alumnipass/alumnipass/internal/statuslist"
)

// Defaults of a decision.
const (
	// DefaultMaxAge is how old the status list may be before every code is
	// refused: the partner's limit unless it sets another.
	DefaultMaxAge = 15 * time.Minute
	// DefaultStepWindow is how many 30-s steps a v2 code may be off the
	// verifier's clock, either way: the server's own window.
	DefaultStepWindow = 1
)

// Results an offline verdict can have, beyond the online ones it shares
// (valid, invalid, unknown_key, expired, not_yet_valid, revoked, suspended,
// stale).
const (
	ResultValid       = "valid"
	ResultInvalid     = "invalid"
	ResultUnknownKey  = "unknown_key"
	ResultExpired     = "expired"
	ResultNotYetValid = "not_yet_valid"
	ResultRevoked     = "revoked"
	ResultSuspended   = "suspended"
	ResultStale       = "stale"
	// ResultFreshnessUnknown: a version 1 card that passes every check an
	// offline verifier can make, but whose TOTP only the server can check,
	// so a photo of it would pass too. Not "valid".
	ResultFreshnessUnknown = "freshness_unknown"
	// ResultDataTooOld: the status list is older than the limit (or from
	// the future, or missing), so nothing is accepted offline.
	ResultDataTooOld = "data_too_old"
)

// Keys are the issuer's verification keys from keys.json.
type Keys struct {
	byID map[[8]byte]ed25519.PublicKey
}

// ParseKeys reads keys.json ({"keys": [JWK...]}). Keys whose kid is not
// the id of their x, or that are not Ed25519 signing keys, are skipped, as
// docs/credential-format.md section 8 says; a set with no usable key is an
// error.
func ParseKeys(b []byte) (*Keys, error) {
	var set struct {
		Keys []struct {
			Kty, Crv, X, Kid, Use string
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("keys.json: %w", err)
	}
	k := &Keys{byID: map[[8]byte]ed25519.PublicKey{}}
	for _, j := range set.Keys {
		if j.Kty != "OKP" || j.Crv != "Ed25519" || j.Use != "sig" {
			continue
		}
		x, err := base64.RawURLEncoding.DecodeString(j.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			continue
		}
		id := credential.KeyIDOf(x)
		if credential.KeyIDString(id) != j.Kid {
			continue
		}
		k.byID[id] = ed25519.PublicKey(x)
	}
	if len(k.byID) == 0 {
		return nil, errors.New("keys.json: no usable Ed25519 key")
	}
	return k, nil
}

// Public returns the key with this id.
func (k *Keys) Public(id [8]byte) (ed25519.PublicKey, bool) {
	p, ok := k.byID[id]
	return p, ok
}

// LoadStatus parses and verifies a full status list and any deltas that
// follow it, in order, and returns the resulting state. Every list must be
// signed by a key in keys; a delta must continue the list before it.
func LoadStatus(keys *Keys, full []byte, deltas ...[]byte) (*statuslist.List, error) {
	l, err := verifiedList(keys, full)
	if err != nil {
		return nil, err
	}
	if l.Delta {
		return nil, errors.New("status list: the first list must be a full one")
	}
	for i, b := range deltas {
		d, err := verifiedList(keys, b)
		if err != nil {
			return nil, fmt.Errorf("delta %d: %w", i+1, err)
		}
		if l, err = l.Apply(d); err != nil {
			return nil, fmt.Errorf("delta %d: %w", i+1, err)
		}
	}
	return l, nil
}

func verifiedList(keys *Keys, b []byte) (*statuslist.List, error) {
	l, err := statuslist.Parse(b)
	if err != nil {
		return nil, err
	}
	pub, ok := keys.Public(l.KeyID)
	if !ok {
		return nil, fmt.Errorf("status list signed by unknown key %s", credential.KeyIDString(l.KeyID))
	}
	if !l.VerifySignature(pub) {
		return nil, errors.New("status list: signature does not verify")
	}
	return l, nil
}

// Options tune a decision; zero values take the defaults.
type Options struct {
	MaxAge     time.Duration // status list age limit; DefaultMaxAge when 0
	StepWindow int           // v2 step tolerance; DefaultStepWindow when 0
}

// Verdict is the outcome of an offline decision, printed as JSON by the CLI.
type Verdict struct {
	Result  string `json:"result"`
	Offline bool   `json:"offline"` // always true: decided without the server
	Format  int    `json:"format,omitempty"`
	Kind    string `json:"kind,omitempty"` // member or guest
	CardID  string `json:"card_id,omitempty"`
	PassID  string `json:"pass_id,omitempty"`
	Tier    string `json:"tier,omitempty"`
	// CompanionsAllowed for a card, PartySize for a guest pass.
	CompanionsAllowed int        `json:"companions_allowed,omitempty"`
	PartySize         int        `json:"party_size,omitempty"`
	ValidUntil        *time.Time `json:"valid_until,omitempty"`
	// FreshnessChecked is true when the code was proven live (a v2 card
	// whose device signed a step within the window).
	FreshnessChecked bool `json:"freshness_checked"`
	OffsetSeconds    *int `json:"offset_seconds,omitempty"`
	// StatusSeq and DataAgeSeconds describe the status list used.
	StatusSeq      uint64 `json:"status_seq"`
	DataAgeSeconds int64  `json:"data_age_seconds"`
	// Reason explains a refusal in plain words; Unchecked lists what an
	// offline decision could not check for this code.
	Reason    string   `json:"reason,omitempty"`
	Unchecked []string `json:"unchecked"`
}

// Words for what an offline decision leaves unchecked.
const (
	uncheckedReplay    = "replay at another venue (checked when the scan is uploaded)"
	uncheckedUses      = "guest pass use count (checked when the scan is uploaded)"
	uncheckedFreshness = "freshness: a version 1 card's TOTP can only be checked by the server, so a photo of it passes offline"
)

// Decide checks code at now against keys and the status state.
func Decide(keys *Keys, status *statuslist.List, code string, now time.Time, o Options) *Verdict {
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.StepWindow <= 0 {
		o.StepWindow = DefaultStepWindow
	}
	v := &Verdict{Offline: true, Unchecked: []string{uncheckedReplay}}
	if status != nil {
		v.StatusSeq = status.Seq
		v.DataAgeSeconds = int64(now.Sub(status.IssuedAt) / time.Second)
	}
	if credential.IsV2(code) {
		decideV2(keys, status, code, now, o, v)
	} else {
		decideV1(keys, status, code, now, o, v)
	}
	return v
}

// dataTooOld refuses when the status list is missing, older than the
// limit, or from the future beyond a minute (a wrong clock here).
func dataTooOld(status *statuslist.List, now time.Time, o Options, v *Verdict) bool {
	switch {
	case status == nil:
		v.Reason = "no status list"
	case now.Sub(status.IssuedAt) > o.MaxAge:
		v.Reason = fmt.Sprintf("status list is %s old; the limit is %s", now.Sub(status.IssuedAt).Round(time.Second), o.MaxAge)
	case status.IssuedAt.Sub(now) > time.Minute:
		v.Reason = "status list is from the future: this device's clock is wrong"
	default:
		return false
	}
	v.Result = ResultDataTooOld
	return true
}

// window sets expired or not_yet_valid when now is outside [from, until).
func window(now, from, until time.Time, v *Verdict) bool {
	switch {
	case now.Before(from):
		v.Result = ResultNotYetValid
	case !now.Before(until):
		v.Result = ResultExpired
	default:
		return false
	}
	return true
}

// listed sets revoked or suspended from the status list, for the card id
// (what is asked) under the words of who it is.
func listed(status *statuslist.List, id [16]byte, whose string, v *Verdict) bool {
	switch status.StatusOf(id) {
	case statuslist.Revoked, statuslist.Cancelled:
		v.Result, v.Reason = ResultRevoked, whose+" is revoked or cancelled"
	case statuslist.Suspended:
		v.Result, v.Reason = ResultSuspended, whose+" is suspended"
	default:
		return false
	}
	return true
}

func decideV2(keys *Keys, status *statuslist.List, code string, now time.Time, o Options, v *Verdict) {
	v.Format, v.Kind = 2, "member"
	p, err := credential.ParseV2(code)
	if err != nil {
		v.Result, v.Reason = ResultInvalid, err.Error()
		return
	}
	c := &p.Card
	v.CardID, v.Tier, v.CompanionsAllowed = uuid.UUID(c.CardID).String(), c.Tier, int(c.Companions)
	exp := c.ExpiresAt
	v.ValidUntil = &exp
	pub, ok := keys.Public(p.KeyID)
	switch {
	case !ok:
		v.Result = ResultUnknownKey
	case !p.VerifySignature(pub):
		v.Result, v.Reason = ResultInvalid, "issuer signature does not verify"
	case !p.VerifyDevice():
		v.Result, v.Reason = ResultInvalid, "device signature does not verify"
	case dataTooOld(status, now, o, v), window(now, c.IssuedAt, c.ExpiresAt, v):
	case abs(p.StepOffset(now)) > int64(o.StepWindow):
		secs := int(p.StepOffset(now)) * 30
		v.Result, v.OffsetSeconds = ResultStale, &secs
		v.Reason = fmt.Sprintf("code is from %ds away from this device's clock", secs)
	case listed(status, c.CardID, "card", v):
	default:
		v.Result, v.FreshnessChecked = ResultValid, true
	}
}

func decideV1(keys *Keys, status *statuslist.List, code string, now time.Time, o Options, v *Verdict) {
	v.Format = 1
	p, err := credential.Parse(code)
	if err != nil {
		v.Result, v.Reason = ResultInvalid, err.Error()
		return
	}
	pub, ok := keys.Public(p.KeyID)
	if !ok {
		v.Result = ResultUnknownKey
		return
	}
	if !p.VerifySignature(pub) {
		v.Result, v.Reason = ResultInvalid, "issuer signature does not verify"
		return
	}
	if p.Kind == credential.KindGuest {
		decideGuest(p.Guest, status, now, o, v)
		return
	}
	c := p.Card
	v.Kind, v.CardID, v.Tier, v.CompanionsAllowed = "member", uuid.UUID(c.CardID).String(), c.Tier, int(c.Companions)
	exp := c.ExpiresAt
	v.ValidUntil = &exp
	v.Unchecked = append(v.Unchecked, uncheckedFreshness)
	switch {
	case dataTooOld(status, now, o, v), window(now, c.IssuedAt, c.ExpiresAt, v), listed(status, c.CardID, "card", v):
	default:
		v.Result = ResultFreshnessUnknown
		v.Reason = "signed, in its validity window and not listed; a version 1 card's freshness cannot be checked offline"
	}
}

func decideGuest(g *credential.GuestPass, status *statuslist.List, now time.Time, o Options, v *Verdict) {
	v.Kind, v.PassID, v.PartySize = "guest", uuid.UUID(g.PassID).String(), int(g.PartySize)
	until := g.ValidUntil
	v.ValidUntil = &until
	v.Unchecked = append(v.Unchecked, uncheckedUses)
	switch {
	case dataTooOld(status, now, o, v), window(now, g.ValidFrom, g.ValidUntil, v),
		listed(status, g.PassID, "guest pass", v), listed(status, g.HostCardID, "host's card", v):
	default:
		v.Result = ResultValid
	}
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

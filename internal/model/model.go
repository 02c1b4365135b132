// Package model holds the domain types of alumnipass and the sentinel errors
// every layer speaks. It does no I/O, so every other package can depend on it.
package model

import (
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Sentinel errors. The store maps driver errors to these, features wrap them
// with context, and the web layer maps them to HTTP statuses in one place.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrInvalid      = errors.New("invalid input")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	ErrUnavailable  = errors.New("unavailable")
	ErrLimit        = errors.New("limit reached")
	ErrRateLimited  = errors.New("rate limited")
)

// Problem is an error that a person can act on: a machine-readable code and
// a message, optionally about one field. Wrap a sentinel so that the web layer
// knows the status: fmt.Errorf("%w", model.Problem{...}) is not needed; use
// NewProblem.
type Problem struct {
	Kind    error  // one of the sentinels above
	Code    string // machine_readable
	Message string // English message for a person
	Field   string // optional field name
}

// Error implements error.
func (p *Problem) Error() string { return p.Code + ": " + p.Message }

// Unwrap lets errors.Is match the sentinel kind.
func (p *Problem) Unwrap() error { return p.Kind }

// NewProblem builds a *Problem.
func NewProblem(kind error, code, message string) *Problem {
	return &Problem{Kind: kind, Code: code, Message: message}
}

// Invalidf reports bad input about one field.
func Invalidf(field, code, message string) *Problem {
	return &Problem{Kind: ErrInvalid, Code: code, Message: message, Field: field}
}

// MemberStatus is the lifecycle state of a membership.
type MemberStatus string

// Member statuses.
const (
	MemberActive    MemberStatus = "active"
	MemberSuspended MemberStatus = "suspended"
	MemberRevoked   MemberStatus = "revoked"
)

// Member is an alumnus. Employee number, e-mail and full names never leave
// the HR surface; partners see a pseudonym.
type Member struct {
	ID             string       `db:"id" json:"id"`
	EmployeeNo     string       `db:"employee_no" json:"employee_no"`
	FamilyName     string       `db:"family_name" json:"family_name"`
	GivenName      string       `db:"given_name" json:"given_name"`
	FamilyNameKana string       `db:"family_name_kana" json:"family_name_kana"`
	GivenNameKana  string       `db:"given_name_kana" json:"given_name_kana"`
	Email          string       `db:"email" json:"email"`
	Tier           string       `db:"tier" json:"tier"`
	DepartedOn     string       `db:"departed_on" json:"departed_on"` // YYYY-MM-DD
	Locale         string       `db:"locale" json:"locale"`
	Status         MemberStatus `db:"status" json:"status"`
	StatusReason   string       `db:"status_reason" json:"status_reason,omitempty"`
	CreatedAt      time.Time    `db:"created_at" json:"created_at"`
	UpdatedAt      time.Time    `db:"updated_at" json:"updated_at"`
}

// DisplayName is what staff see at the counter: family name and the given
// name's initial, family-first in Japanese ("山田 太." / "T. Yamada").
func (m Member) DisplayName() string {
	initial := ""
	for _, r := range m.GivenName {
		initial = string(r)
		break
	}
	if m.Locale == "en" && latin(m.FamilyName) {
		return initial + ". " + m.FamilyName
	}
	return m.FamilyName + " " + initial + "."
}

// latin says whether a name is written in Latin letters, so that an
// English-speaking member with a Japanese name still reads family-first.
func latin(s string) bool {
	for _, r := range s {
		if r > 0x24F {
			return false
		}
	}
	return true
}

// CardStatus is the state of a card.
type CardStatus string

// Card statuses.
const (
	CardActive  CardStatus = "active"
	CardRevoked CardStatus = "revoked"
)

// Card is a member's credential. SignedPart is the signed, static part of
// the QR text; the phone adds the TOTP value.
type Card struct {
	ID              string     `db:"id" json:"id"`
	MemberID        string     `db:"member_id" json:"member_id"`
	Status          CardStatus `db:"status" json:"status"`
	KeyID           string     `db:"kid" json:"kid"`
	SignedPart      string     `db:"signed_part" json:"-"`
	TOTPSecretEnc   []byte     `db:"totp_secret_enc" json:"-"`
	Companions      int        `db:"companions" json:"companions"`
	IssuedAt        time.Time  `db:"issued_at" json:"issued_at"`
	ExpiresAt       time.Time  `db:"expires_at" json:"expires_at"`
	RevokedAt       *time.Time `db:"revoked_at" json:"revoked_at,omitempty"`
	EnrollTokenHash string     `db:"enroll_token_hash" json:"-"`
	EnrollExpiresAt time.Time  `db:"enroll_expires_at" json:"enroll_expires_at"`
	EnrolledAt      *time.Time `db:"enrolled_at" json:"enrolled_at,omitempty"`
	WalletTokenHash *string    `db:"wallet_token_hash" json:"-"`
	ConsentVersion  *string    `db:"consent_version" json:"consent_version,omitempty"`
	ConsentAt       *time.Time `db:"consent_at" json:"consent_at,omitempty"`
}

// GuestPass is a companion's pass, issued by a member from their card.
type GuestPass struct {
	ID         string    `db:"id" json:"id"`
	CardID     string    `db:"card_id" json:"card_id"`
	MemberID   string    `db:"member_id" json:"member_id"`
	Code       string    `db:"code" json:"code"`
	PartySize  int       `db:"party_size" json:"party_size"`
	ValidFrom  time.Time `db:"valid_from" json:"valid_from"`
	ValidUntil time.Time `db:"valid_until" json:"valid_until"`
	MaxUses    int       `db:"max_uses" json:"max_uses"`
	Uses       int       `db:"uses" json:"uses"`
	Status     string    `db:"status" json:"status"` // active, cancelled
	CreatedAt  time.Time `db:"created_at" json:"created_at"`
}

// Partner is a restaurant group, hotel operator or store.
type Partner struct {
	ID        string    `db:"id" json:"id"`
	Name      string    `db:"name" json:"name"`
	Kind      string    `db:"kind" json:"kind"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
	// DeactivatedAt is set while the partner is deactivated: its keys are
	// refused and its perks leave the directory.
	DeactivatedAt *time.Time `db:"deactivated_at" json:"deactivated_at,omitempty"`
}

// Venue is one location of a partner.
type Venue struct {
	ID        string    `db:"id" json:"id"`
	PartnerID string    `db:"partner_id" json:"partner_id"`
	Name      string    `db:"name" json:"name"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
	// ClosedAt is set while the venue is closed: its keys are refused.
	ClosedAt *time.Time `db:"closed_at" json:"closed_at,omitempty"`
}

// Perk is what a partner offers to eligible alumni.
type Perk struct {
	ID            string    `db:"id" json:"id"`
	PartnerID     string    `db:"partner_id" json:"partner_id"`
	Title         string    `db:"title" json:"title"`
	Description   string    `db:"description" json:"description"`
	TitleEn       string    `db:"title_en" json:"title_en"`             // English title; "" = show Title
	DescriptionEn string    `db:"description_en" json:"description_en"` // English description; "" = show Description
	EligibleTiers string    `db:"eligible_tiers" json:"-"`              // comma separated
	Companions    int       `db:"companions" json:"companions"`
	LimitPerDay   int       `db:"limit_per_day" json:"limit_per_day"`     // 0 = none
	LimitPerMonth int       `db:"limit_per_month" json:"limit_per_month"` // 0 = none
	Days          string    `db:"days" json:"days"`                       // "mon,tue"; "" = every day
	Hours         string    `db:"hours" json:"hours"`                     // "11:00-14:00" Japan time; "" = all day
	Active        bool      `db:"active" json:"active"`
	CreatedAt     time.Time `db:"created_at" json:"created_at"`
}

// Principal kinds of API keys and sessions.
const (
	RoleAdmin          = "admin"
	RoleHR             = "hr"
	RoleViewer         = "viewer"
	RolePartnerManager = "partner_manager"
	RoleDevice         = "device"
)

// APIKey is a hashed bearer token: an HR automation token or a venue device.
type APIKey struct {
	ID         string     `db:"id" json:"id"`
	Name       string     `db:"name" json:"name"`
	Prefix     string     `db:"prefix" json:"prefix"`
	Hash       string     `db:"hash" json:"-"`
	Role       string     `db:"role" json:"role"`
	PartnerID  *string    `db:"partner_id" json:"partner_id,omitempty"`
	VenueID    *string    `db:"venue_id" json:"venue_id,omitempty"`
	CreatedAt  time.Time  `db:"created_at" json:"created_at"`
	LastUsedAt *time.Time `db:"last_used_at" json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `db:"revoked_at" json:"revoked_at,omitempty"`
}

// Verification results, as DESIGN.md section 5 names them.
const (
	ResultValid       = "valid"
	ResultInvalid     = "invalid"
	ResultUnknownKey  = "unknown_key"
	ResultExpired     = "expired"
	ResultNotYetValid = "not_yet_valid"
	ResultRevoked     = "revoked"
	ResultSuspended   = "suspended"
	ResultStale       = "stale"
	ResultReplayed    = "replayed"
	ResultUsedUp      = "used_up"
	ResultNotEligible = "not_eligible"
)

// Verification is one scan and its outcome.
type Verification struct {
	ID          string    `db:"id"`
	At          time.Time `db:"at"`
	PartnerID   string    `db:"partner_id"`
	VenueID     string    `db:"venue_id"`
	APIKeyID    string    `db:"api_key_id"`
	Kind        string    `db:"kind"` // member, guest, unknown
	CardID      *string   `db:"card_id"`
	GuestPassID *string   `db:"guest_pass_id"`
	MemberID    *string   `db:"member_id"`
	CodeHash    string    `db:"code_hash"`
	Result      string    `db:"result"`
	Detail      string    `db:"detail"`
}

// Redemption is a perk actually used.
type Redemption struct {
	ID             string    `db:"id" json:"id"`
	VerificationID string    `db:"verification_id" json:"verification_id"`
	IdempotencyKey string    `db:"idempotency_key" json:"-"`
	APIKeyID       string    `db:"api_key_id" json:"-"`
	PerkID         string    `db:"perk_id" json:"perk_id"`
	PartnerID      string    `db:"partner_id" json:"partner_id"`
	VenueID        string    `db:"venue_id" json:"venue_id"`
	MemberID       string    `db:"member_id" json:"-"`
	CardID         *string   `db:"card_id" json:"-"`
	GuestPassID    *string   `db:"guest_pass_id" json:"guest_pass_id,omitempty"`
	PartySize      int       `db:"party_size" json:"party_size"`
	At             time.Time `db:"at" json:"at"`
}

// AuditEntry is one append-only record of a change.
type AuditEntry struct {
	ID         string    `db:"id" json:"id"`
	At         time.Time `db:"at" json:"at"`
	ActorType  string    `db:"actor_type" json:"actor_type"`
	ActorID    string    `db:"actor_id" json:"actor_id"`
	ActorName  string    `db:"actor_name" json:"actor_name"`
	Action     string    `db:"action" json:"action"`
	TargetType string    `db:"target_type" json:"target_type"`
	TargetID   string    `db:"target_id" json:"target_id"`
	Before     string    `db:"before_json" json:"before,omitempty"`
	After      string    `db:"after_json" json:"after,omitempty"`
	RequestID  string    `db:"request_id" json:"request_id"`
}

// SigningKey is an Ed25519 issuer key; the private half is encrypted at rest.
type SigningKey struct {
	KeyID         string     `db:"kid"`
	PublicKey     []byte     `db:"public_key"`
	PrivateKeyEnc []byte     `db:"private_key_enc"`
	Status        string     `db:"status"` // active, verify, retired
	CreatedAt     time.Time  `db:"created_at"`
	RetiredAt     *time.Time `db:"retired_at"`
}

// Signing key statuses.
const (
	KeyActive  = "active"
	KeyVerify  = "verify"
	KeyRetired = "retired"
)

// Admin is a console user: HR (admin, hr, viewer) or a partner manager.
type Admin struct {
	ID            string     `db:"id"`
	Email         string     `db:"email"`
	Name          string     `db:"name"`
	PasswordHash  string     `db:"password_hash"`
	Role          string     `db:"role"`
	PartnerID     *string    `db:"partner_id"`
	TOTPSecretEnc []byte     `db:"totp_secret_enc"`
	TOTPEnabled   bool       `db:"totp_enabled"`
	Locale        string     `db:"locale"`
	CreatedAt     time.Time  `db:"created_at"`
	DisabledAt    *time.Time `db:"disabled_at"`
}

// Principal is who is calling: an HR token or console user, a partner
// device key, a partner manager, or an alumnus's wallet.
type Principal struct {
	Kind      string // "token", "admin", "device", "wallet"
	ID        string // api key, admin or card id
	Name      string
	Role      string // admin, hr, viewer, partner_manager, device
	PartnerID string // for partner roles
	VenueID   string // for devices
	MemberID  string // for wallets
	RequestID string
}

// Can reports whether the principal's role is one of roles.
func (p *Principal) Can(roles ...string) bool {
	if p == nil {
		return false
	}
	for _, r := range roles {
		if p.Role == r {
			return true
		}
	}
	return false
}

// Audit makes an audit entry by this principal.
func (p *Principal) Audit(id string, at time.Time, action, targetType, targetID, before, after string) AuditEntry {
	return AuditEntry{ID: id, At: at, ActorType: p.Kind, ActorID: p.ID, ActorName: p.Name, Action: action,
		TargetType: targetType, TargetID: targetID, Before: before, After: after, RequestID: p.RequestID}
}

// JSON renders v for audit before/after images; values here always marshal.
func JSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return `{"error":"unrepresentable"}`
	}
	return string(b)
}

// Localized picks the text for a reader: the English one for lang "en"
// when it was written, else the default (usually Japanese) one.
func Localized(lang, def, en string) string {
	if lang == "en" && en != "" {
		return en
	}
	return def
}

// TierEligible says whether a perk's comma-separated tier list admits tier;
// "*" or an empty list admits every tier.
func TierEligible(tiers, tier string) bool {
	if tiers == "" || tiers == "*" {
		return true
	}
	for _, t := range strings.Split(tiers, ",") {
		if strings.TrimSpace(t) == tier {
			return true
		}
	}
	return false
}

// Weekdays are the day names a perk's schedule uses, Sunday first as
// time.Weekday counts.
func Weekdays() []string { return []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"} }

// OrderedDays is a perk's stored days ("fri,mon") in the order of the week
// as people read it, Monday first (["mon", "fri"]); nil for every day.
func OrderedDays(days string) []string {
	var out []string
	for _, d := range append(Weekdays()[1:], "sun") {
		if strings.Contains(","+days+",", ","+d+",") {
			out = append(out, d)
		}
	}
	return out
}

// PerkOpen says whether a perk's schedule admits local time t (the caller
// passes Japan time). Hours may cross midnight ("22:00-02:00"); a window
// that starts before midnight belongs to the day it starts on.
func PerkOpen(days, hours string, t time.Time) bool {
	mins := t.Hour()*60 + t.Minute()
	day := t.Weekday()
	start, end, ok := ParseHours(hours)
	if hours != "" && !ok {
		return false // a schedule we cannot read is closed, never open
	}
	if hours != "" && start > end && mins < end {
		day = (day + 6) % 7 // after midnight: still the previous day's window
	}
	if days != "" && !strings.Contains(","+days+",", ","+Weekdays()[day]+",") {
		return false
	}
	if hours == "" {
		return true
	}
	if start <= end {
		return mins >= start && mins < end
	}
	return mins >= start || mins < end
}

// ParseHours reads "HH:MM-HH:MM" into minutes after midnight.
func ParseHours(h string) (start, end int, ok bool) {
	a, b, found := strings.Cut(h, "-")
	if !found {
		return 0, 0, false
	}
	parse := func(s string) (int, bool) {
		t, err := time.Parse("15:04", strings.TrimSpace(s))
		if err != nil {
			return 0, false
		}
		return t.Hour()*60 + t.Minute(), true
	}
	start, ok1 := parse(a)
	end, ok2 := parse(b)
	return start, end, ok1 && ok2 && start != end
}

// ValidTier says whether t is a tier name: 1 to 16 of a-z, 0-9, '-' and '_'.
// The card code carries it, so the rule is the format's (credential.MaxTierLen).
func ValidTier(t string) bool {
	if len(t) == 0 || len(t) > 16 {
		return false
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

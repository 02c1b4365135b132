// Package wallet is the alumnus's side: a one-time enrolment that binds a
// wallet to a card, the card code (computed on the phone, with a server
// fallback), and companion guest passes within a monthly quota.
package wallet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/credential"
	"github.com/alumnipass/alumnipass/internal/keyring"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/seal"
	"github.com/alumnipass/alumnipass/internal/store"
)

// Options are the wallet's policy.
type Options struct {
	BaseURL        string
	GuestQuota     int // passes per member per calendar month (Asia/Tokyo)
	MaxPartySize   int
	MaxGuestWindow time.Duration
	ConsentVersion string
}

// Service is the wallet service.
type Service struct {
	st     Storer
	keys   *keyring.Keyring
	sealer *seal.Sealer
	now    func() time.Time
	opt    Options
	tokyo  *time.Location
}

// New makes the service.
func New(st Storer, keys *keyring.Keyring, sealer *seal.Sealer, now func() time.Time, opt Options) *Service {
	if opt.MaxPartySize == 0 {
		opt.MaxPartySize = 8
	}
	if opt.MaxGuestWindow == 0 {
		opt.MaxGuestWindow = 31 * 24 * time.Hour
	}
	return &Service{st: st, keys: keys, sealer: sealer, now: now, opt: opt, tokyo: model.JST()}
}

// Wallet is an enrolled card with its member, as a wallet token unlocks it.
type Wallet struct {
	Card   *model.Card
	Member *model.Member
	Secret []byte
	Device *store.CardDevice // the format 2 binding; empty for a version 1 card
}

// Enrolment is what the wallet receives once.
type Enrolment struct {
	WalletToken string    `json:"wallet_token"`
	CardID      string    `json:"card_id"`
	SignedPart  string    `json:"signed_part"`
	TOTPSecret  string    `json:"totp_secret"` // base32, as otpauth URIs
	TOTPPeriod  int       `json:"totp_period"`
	TOTPDigits  int       `json:"totp_digits"`
	TOTPAlg     string    `json:"totp_algorithm"`
	CodePrefix  string    `json:"code_prefix"`
	DisplayName string    `json:"display_name"`
	Tier        string    `json:"tier"`
	ExpiresAt   time.Time `json:"expires_at"`
	ServerTime  int64     `json:"server_time_ms"`
}

// EnrolmentInfo is what the enrolment page shows before consent.
type EnrolmentInfo struct {
	DisplayName string
	Locale      string
}

// Inspect checks an enrolment token without using it.
func (s *Service) Inspect(ctx context.Context, token string) (*EnrolmentInfo, error) {
	_, m, err := s.enrolCard(ctx, token)
	if err != nil {
		return nil, err
	}
	return &EnrolmentInfo{DisplayName: m.DisplayName(), Locale: m.Locale}, nil
}

func (s *Service) enrolCard(ctx context.Context, token string) (*model.Card, *model.Member, error) {
	notFound := model.NewProblem(model.ErrNotFound, "enrollment_not_found", "This enrolment link is not valid. Ask HR for a new one.")
	if len(token) < 10 || len(token) > 100 {
		return nil, nil, notFound
	}
	card, err := s.st.CardByEnrollToken(ctx, auth.HashToken(token))
	if errors.Is(err, model.ErrNotFound) {
		return nil, nil, notFound
	}
	if err != nil {
		return nil, nil, err
	}
	m, err := s.st.Member(ctx, card.MemberID)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case card.EnrolledAt != nil:
		return nil, nil, model.NewProblem(model.ErrConflict, "enrollment_used", "This enrolment link has already been used. If that was not you, or you changed phones, ask HR to re-issue your card.")
	case card.Status != model.CardActive || m.Status == model.MemberRevoked:
		return nil, nil, model.NewProblem(model.ErrConflict, "card_revoked", "This card has been replaced or revoked. Use the newest link from HR.")
	case m.Status == model.MemberSuspended:
		return nil, nil, model.NewProblem(model.ErrConflict, "member_suspended", "Your membership is suspended. Contact HR.")
	case !s.now().Before(card.EnrollExpiresAt):
		return nil, nil, model.NewProblem(model.ErrConflict, "enrollment_expired", "This enrolment link has expired. Ask HR for a new one.")
	}
	return card, m, nil
}

// Enroll uses an enrolment token once, recording consent, and returns the
// wallet's credentials. consent must be true.
func (s *Service) Enroll(ctx context.Context, token string, consent bool) (*Enrolment, error) {
	if !consent {
		return nil, model.Invalidf("consent", "consent_required", "Enrolment needs your consent to the use of your data described on the page.")
	}
	card, m, err := s.enrolCard(ctx, token)
	if err != nil {
		return nil, err
	}
	wt, wh, err := auth.NewToken(auth.PrefixWallet)
	if err != nil {
		return nil, err
	}
	now := s.now()
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.Enroll(ctx, card.ID, wh, s.opt.ConsentVersion, now); err != nil {
			if errors.Is(err, model.ErrConflict) {
				return model.NewProblem(model.ErrConflict, "enrollment_used", "This enrolment link has already been used.")
			}
			return err
		}
		p := &model.Principal{Kind: "wallet", ID: card.ID, Name: "alumnus", Role: "member"}
		return tx.InsertAudit(ctx, p.Audit(uuid.Must(uuid.NewV7()).String(), now, "card.enroll", "member", m.ID, "",
			model.JSON(map[string]string{"card_id": card.ID, "consent_version": s.opt.ConsentVersion})))
	})
	if err != nil {
		return nil, fmt.Errorf("enroll: %w", err)
	}
	secret, err := s.sealer.Open(card.TOTPSecretEnc, "card:"+card.ID)
	if err != nil {
		return nil, fmt.Errorf("card secret: %w", err)
	}
	return &Enrolment{WalletToken: wt, CardID: card.ID, SignedPart: card.SignedPart, TOTPSecret: credential.TOTPSecretBase32(secret),
		TOTPPeriod: 30, TOTPDigits: 6, TOTPAlg: "SHA1", CodePrefix: credential.Prefix + "C", DisplayName: m.DisplayName(),
		Tier: m.Tier, ExpiresAt: card.ExpiresAt, ServerTime: now.UnixMilli()}, nil
}

// Open resolves a wallet token. A re-issued or revoked card's wallet is refused.
func (s *Service) Open(ctx context.Context, token string) (*Wallet, error) {
	if len(token) < 10 || len(token) > 100 {
		return nil, model.ErrUnauthorized
	}
	card, err := s.st.CardByWalletToken(ctx, auth.HashToken(token))
	if errors.Is(err, model.ErrNotFound) {
		return nil, model.ErrUnauthorized
	}
	if err != nil {
		return nil, err
	}
	m, err := s.st.Member(ctx, card.MemberID)
	if err != nil {
		return nil, err
	}
	secret, err := s.sealer.Open(card.TOTPSecretEnc, "card:"+card.ID)
	if err != nil {
		return nil, fmt.Errorf("card secret: %w", err)
	}
	dev, err := s.st.CardDevice(ctx, card.ID)
	if err != nil {
		return nil, err
	}
	return &Wallet{Card: card, Member: m, Secret: secret, Device: dev}, nil
}

// Code is the server-computed current code (the no-JavaScript path).
type Code struct {
	Code            string `json:"code"`
	ValidForSeconds int    `json:"valid_for_seconds"`
}

// CurrentCode computes the card's code now.
func (s *Service) CurrentCode(w *Wallet) (*Code, error) {
	if err := usable(w); err != nil {
		return nil, err
	}
	if w.Bound() {
		return nil, model.NewProblem(model.ErrConflict, "device_bound", "This card is bound to your phone's key: only the phone can show its code.")
	}
	now := s.now()
	return &Code{Code: credential.CardCode(w.Card.SignedPart, credential.TOTP(w.Secret, now)), ValidForSeconds: 30 - int(now.Unix()%30)}, nil
}

func usable(w *Wallet) error {
	switch {
	case w.Card.Status != model.CardActive || w.Member.Status == model.MemberRevoked:
		return model.NewProblem(model.ErrForbidden, "card_revoked", "This card has been revoked or replaced.")
	case w.Member.Status == model.MemberSuspended:
		return model.NewProblem(model.ErrForbidden, "member_suspended", "The membership is suspended.")
	}
	return nil
}

// GuestPassInput is what the alumnus asks for.
type GuestPassInput struct {
	PartySize  int       `json:"party_size"`
	ValidFrom  time.Time `json:"valid_from"`
	ValidUntil time.Time `json:"valid_until"`
	MaxUses    int       `json:"max_uses"`
}

// IssuedPass is a created guest pass with its share links.
type IssuedPass struct {
	model.GuestPass
	ShareURL string `json:"share_url"`
	PNGURL   string `json:"png_url"`
}

// CreateGuestPass issues a companion pass within the monthly quota.
func (s *Service) CreateGuestPass(ctx context.Context, w *Wallet, in GuestPassInput) (*IssuedPass, error) {
	if err := usable(w); err != nil {
		return nil, err
	}
	now := s.now()
	if in.ValidFrom.IsZero() || in.ValidFrom.Before(now) {
		in.ValidFrom = now
	}
	if in.MaxUses == 0 {
		in.MaxUses = 1
	}
	switch {
	case in.PartySize < 1 || in.PartySize > s.opt.MaxPartySize || in.PartySize > 255:
		return nil, model.Invalidf("party_size", "invalid_party_size", fmt.Sprintf("party_size must be between 1 and %d", s.opt.MaxPartySize))
	case in.ValidUntil.IsZero():
		return nil, model.Invalidf("valid_until", "valid_until_required", "valid_until is required (RFC 3339 time)")
	case !in.ValidUntil.After(in.ValidFrom):
		return nil, model.Invalidf("valid_until", "invalid_window", "valid_until must be after the start of the pass")
	case in.ValidUntil.Sub(in.ValidFrom) > s.opt.MaxGuestWindow:
		return nil, model.Invalidf("valid_until", "window_too_long", "a guest pass can be valid for at most 31 days")
	case in.ValidUntil.After(w.Card.ExpiresAt):
		return nil, model.Invalidf("valid_until", "after_card_expiry", "a guest pass cannot outlast the card")
	case in.MaxUses < 1 || in.MaxUses > 10:
		return nil, model.Invalidf("max_uses", "invalid_max_uses", "max_uses must be between 1 and 10")
	}
	passID := uuid.New()
	hostID, err := uuid.Parse(w.Card.ID)
	if err != nil {
		return nil, fmt.Errorf("card id: %w", err)
	}
	keyID, _, priv := s.keys.Signer()
	code, err := credential.SignGuestPass(priv, credential.GuestPass{KeyID: keyID, PassID: passID, HostCardID: hostID,
		ValidFrom: in.ValidFrom, ValidUntil: in.ValidUntil, MaxUses: uint16(in.MaxUses), PartySize: uint8(in.PartySize)})
	if err != nil {
		return nil, fmt.Errorf("sign guest pass: %w", err)
	}
	g := &model.GuestPass{ID: passID.String(), CardID: w.Card.ID, MemberID: w.Member.ID, Code: code, PartySize: in.PartySize,
		ValidFrom: in.ValidFrom.Truncate(time.Second), ValidUntil: in.ValidUntil.Truncate(time.Second), MaxUses: in.MaxUses, Status: "active", CreatedAt: now}
	// The member's row lock makes count and insert one step: a concurrent
	// creation waits, then counts this pass (PostgreSQL READ COMMITTED
	// included). Card and membership are checked again under the lock.
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		m, err := tx.LockMember(ctx, w.Member.ID)
		if err != nil {
			return err
		}
		card, err := tx.Card(ctx, w.Card.ID)
		if err != nil {
			return err
		}
		if err := usable(&Wallet{Card: card, Member: m}); err != nil {
			return err
		}
		used, err := tx.CountGuestPassesSince(ctx, w.Member.ID, s.monthStart(now))
		if err != nil {
			return err
		}
		if used >= s.opt.GuestQuota {
			return model.NewProblem(model.ErrLimit, "guest_quota_exceeded", fmt.Sprintf("You have used all %d guest passes for this month.", s.opt.GuestQuota))
		}
		return tx.CreateGuestPass(ctx, g)
	})
	if err != nil {
		return nil, fmt.Errorf("create guest pass: %w", err)
	}
	return &IssuedPass{GuestPass: *g, ShareURL: s.opt.BaseURL + "/g/" + g.ID, PNGURL: s.opt.BaseURL + "/g/" + g.ID + "/qr.png"}, nil
}

// CancelGuestPass cancels an unused pass of this wallet's member.
func (s *Service) CancelGuestPass(ctx context.Context, w *Wallet, id string) error {
	if _, err := uuid.Parse(id); err != nil {
		return model.NewProblem(model.ErrNotFound, "guest_pass_not_found", "No such guest pass.")
	}
	if err := s.st.CancelGuestPass(ctx, id, w.Member.ID); err != nil {
		if errors.Is(err, model.ErrConflict) {
			return model.NewProblem(model.ErrConflict, "guest_pass_not_cancellable", "Only an unused, active pass of yours can be cancelled.")
		}
		return err
	}
	return nil
}

// GuestPass returns a pass for its share page.
func (s *Service) GuestPass(ctx context.Context, id string) (*model.GuestPass, *model.Member, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, nil, model.NewProblem(model.ErrNotFound, "guest_pass_not_found", "No such guest pass.")
	}
	g, err := s.st.GuestPass(ctx, id)
	if errors.Is(err, model.ErrNotFound) {
		return nil, nil, model.NewProblem(model.ErrNotFound, "guest_pass_not_found", "No such guest pass.")
	}
	if err != nil {
		return nil, nil, err
	}
	m, err := s.st.Member(ctx, g.MemberID)
	if err != nil {
		return nil, nil, err
	}
	return g, m, nil
}

// View is everything the wallet page shows besides the live code.
type View struct {
	Perks       []store.PerkWithPartner
	Venues      map[string][]string // partner id → its open venues' names: where the perks apply
	Uses        []store.MemberUse   // perk uses, newest first: the history the member sees
	GuestPasses []model.GuestPass
	QuotaUsed   int
	QuotaLimit  int
}

// View gathers the wallet page's lists.
func (s *Service) View(ctx context.Context, w *Wallet) (*View, error) {
	v := &View{QuotaLimit: s.opt.GuestQuota}
	all, err := s.st.ActivePerks(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range all {
		if model.TierEligible(p.EligibleTiers, w.Member.Tier) {
			v.Perks = append(v.Perks, p)
		}
	}
	venues, err := s.st.OpenVenues(ctx)
	if err != nil {
		return nil, err
	}
	v.Venues = map[string][]string{}
	for _, vn := range venues {
		v.Venues[vn.PartnerID] = append(v.Venues[vn.PartnerID], vn.Name)
	}
	if v.Uses, err = s.st.MemberUses(ctx, w.Member.ID, 20); err != nil {
		return nil, err
	}
	if v.GuestPasses, err = s.st.MemberGuestPasses(ctx, w.Member.ID, 20); err != nil {
		return nil, err
	}
	if v.QuotaUsed, err = s.st.CountGuestPassesSince(ctx, w.Member.ID, s.monthStart(s.now())); err != nil {
		return nil, err
	}
	return v, nil
}

func (s *Service) monthStart(t time.Time) time.Time {
	t = t.In(s.tokyo)
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, s.tokyo)
}

// maxClockOffset bounds a reported phone clock offset: beyond it the phone's
// clock (or the report) is nonsense and is not kept.
const maxClockOffset = 7 * 24 * time.Hour

// RecordClock keeps how far this wallet's phone clock was from the server's
// at a sync (server minus phone, in milliseconds), so that a stale scan of
// its codes can be told apart: a code off by this much is the phone's clock,
// not a screenshot.
func (s *Service) RecordClock(ctx context.Context, w *Wallet, offsetMS int64) error {
	if offsetMS > maxClockOffset.Milliseconds() || offsetMS < -maxClockOffset.Milliseconds() {
		return nil
	}
	if err := s.st.ReportWalletClock(ctx, w.Card.ID, offsetMS, s.now()); err != nil {
		return fmt.Errorf("record wallet clock: %w", err)
	}
	return nil
}

// Package members is HR's side of the membership: creating and finding
// alumni, changing their status, issuing cards and importing HR exports.
// Every change is written with its audit entry in the same transaction.
package members

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/text/unicode/norm"

	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/credential"
	"github.com/alumnipass/alumnipass/internal/keyring"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/seal"
	"github.com/alumnipass/alumnipass/internal/store"
)

// Options are the policy knobs of the membership.
type Options struct {
	BaseURL        string
	CardValidity   time.Duration
	EnrollValidity time.Duration
	Companions     int // companions a card allows at most
}

// Service is the HR membership service.
type Service struct {
	st     Storer
	keys   *keyring.Keyring
	sealer *seal.Sealer
	now    func() time.Time
	opt    Options
}

// New makes the service.
func New(st Storer, keys *keyring.Keyring, sealer *seal.Sealer, now func() time.Time, opt Options) *Service {
	if opt.Companions == 0 {
		opt.Companions = 3
	}
	return &Service{st: st, keys: keys, sealer: sealer, now: now, opt: opt}
}

// Input is a member as HR types or imports it.
type Input struct {
	EmployeeNo     string `json:"employee_no"`
	FamilyName     string `json:"family_name"`
	GivenName      string `json:"given_name"`
	FamilyNameKana string `json:"family_name_kana"`
	GivenNameKana  string `json:"given_name_kana"`
	Email          string `json:"email"`
	Tier           string `json:"tier"`
	DepartedOn     string `json:"departed_on"`
	Locale         string `json:"locale"`
}

var (
	employeeNoRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
)

// Normalize trims and validates an input, returning the first problem.
func (in *Input) Normalize() error {
	nf := func(s string) string {
		return strings.TrimSpace(strings.ReplaceAll(norm.NFKC.String(s), "\u3000", " "))
	}
	in.EmployeeNo, in.Email, in.Tier, in.DepartedOn, in.Locale = nf(in.EmployeeNo), nf(in.Email), strings.ToLower(nf(in.Tier)), nf(in.DepartedOn), strings.ToLower(nf(in.Locale))
	if !employeeNoRe.MatchString(in.EmployeeNo) {
		return model.Invalidf("employee_no", "invalid_employee_no", "employee_no must be 1 to 32 letters, digits, '-' or '_'")
	}
	for _, f := range []struct {
		field string
		v     *string
		rule  func(string) (string, model.NameFault, rune)
	}{
		{"family_name", &in.FamilyName, model.NormalizeName}, {"given_name", &in.GivenName, model.NormalizeName},
		{"family_name_kana", &in.FamilyNameKana, model.NormalizeKana}, {"given_name_kana", &in.GivenNameKana, model.NormalizeKana},
	} {
		v, fault, r := f.rule(*f.v)
		if fault != model.FaultNone {
			return nameProblem(f.field, fault, r)
		}
		*f.v = v
	}
	addr, ok := model.NormalizeEmail(in.Email)
	if !ok {
		return model.Invalidf("email", "invalid_email", "email must be a plain e-mail address such as taro@example.com")
	}
	in.Email = addr
	if !model.ValidTier(in.Tier) {
		return model.Invalidf("tier", "invalid_tier", "tier must be 1 to 16 lowercase letters, digits, '-' or '_' (for example standard, gold)")
	}
	if _, err := time.Parse("2006-01-02", in.DepartedOn); err != nil {
		return model.Invalidf("departed_on", "invalid_date", "departed_on must be a date as YYYY-MM-DD")
	}
	locale, ok := model.ParseLocale(in.Locale)
	if !ok {
		return model.Invalidf("locale", "invalid_locale", "locale must be ja or en (日本語, English, ja-JP and the like are understood)")
	}
	in.Locale = locale
	return nil
}

// nameProblem is the API's answer to a name or kana refused by the one
// name rule (model.NormalizeName, model.NormalizeKana), which the CSV import
// applies too. An empty or too long name keeps the API's older codes,
// invalid_name and invalid_kana; every other fault is reported by the rule's
// own code, the same as the import's.
func nameProblem(field string, fault model.NameFault, r rune) error {
	kana := strings.HasSuffix(field, "_kana")
	switch fault {
	case model.FaultRequired, model.FaultTooLong:
		if kana {
			return model.Invalidf(field, "invalid_kana", fmt.Sprintf("%s must be at most %d characters", field, model.MaxNameLen))
		}
		return model.Invalidf(field, "invalid_name", fmt.Sprintf("%s is required and must be at most %d characters", field, model.MaxNameLen))
	case model.FaultInvalidCharacter:
		return model.Invalidf(field, string(fault), fmt.Sprintf("%s contains an invisible control or formatting character (U+%04X); retype it", field, r))
	case model.FaultInvisibleName:
		return model.Invalidf(field, string(fault), field+" has no visible character; retype it")
	}
	return model.Invalidf(field, string(fault), fmt.Sprintf("%s must be written in katakana or hiragana (not %q)", field, r))
}

// Create adds one member.
func (s *Service) Create(ctx context.Context, p *model.Principal, in Input) (*model.Member, error) {
	if err := in.Normalize(); err != nil {
		return nil, err
	}
	now := s.now()
	m := &model.Member{ID: uuid.NewString(), EmployeeNo: in.EmployeeNo, FamilyName: in.FamilyName, GivenName: in.GivenName,
		FamilyNameKana: in.FamilyNameKana, GivenNameKana: in.GivenNameKana, Email: in.Email, Tier: in.Tier,
		DepartedOn: in.DepartedOn, Locale: in.Locale, Status: model.MemberActive, CreatedAt: now, UpdatedAt: now}
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateMember(ctx, m); err != nil {
			if errors.Is(err, model.ErrConflict) {
				return model.NewProblem(model.ErrConflict, "employee_no_taken", "A member with this employee number already exists.")
			}
			return err
		}
		return tx.InsertAudit(ctx, p.Audit(newID(), now, "member.create", "member", m.ID, "", model.JSON(m)))
	})
	if err != nil {
		return nil, fmt.Errorf("create member: %w", err)
	}
	return m, nil
}

// Detail is a member with their cards.
type Detail struct {
	*model.Member
	Cards []model.Card `json:"cards"`
}

// Get returns a member and their cards.
func (s *Service) Get(ctx context.Context, id string) (*Detail, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, memberNotFound()
	}
	m, err := s.st.Member(ctx, id)
	if errors.Is(err, model.ErrNotFound) {
		return nil, memberNotFound()
	}
	if err != nil {
		return nil, err
	}
	cards, err := s.st.MemberCards(ctx, id)
	if err != nil {
		return nil, err
	}
	if cards == nil {
		cards = []model.Card{}
	}
	return &Detail{Member: m, Cards: cards}, nil
}

// ByIDs returns the members with these ids, by id; ids that are not
// members (or not ids) are left out.
func (s *Service) ByIDs(ctx context.Context, ids []string) (map[string]model.Member, error) {
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, err := uuid.Parse(id); err == nil {
			valid = append(valid, id)
		}
	}
	if len(valid) == 0 {
		return map[string]model.Member{}, nil
	}
	ms, err := s.st.MembersByID(ctx, valid)
	if err != nil {
		return nil, fmt.Errorf("members by id: %w", err)
	}
	return ms, nil
}

// List searches members; the cursor is the last employee number seen.
func (s *Service) List(ctx context.Context, f MemberFilter) (ms []model.Member, next string, err error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	switch f.Status {
	case "", string(model.MemberActive), string(model.MemberSuspended), string(model.MemberRevoked):
	default:
		return nil, "", model.Invalidf("status", "invalid_status", "status must be active, suspended or revoked")
	}
	f.Query = strings.TrimSpace(norm.NFKC.String(f.Query))
	if utf8.RuneCountInString(f.Query) > 100 {
		return nil, "", model.Invalidf("q", "query_too_long", "the search text must be at most 100 characters")
	}
	want := f.Limit
	f.Limit++
	ms, err = s.st.ListMembers(ctx, storeMemberFilter(f))
	if err != nil {
		return nil, "", err
	}
	if len(ms) > want {
		ms = ms[:want]
		next = ms[want-1].EmployeeNo
	}
	if ms == nil {
		ms = []model.Member{}
	}
	return ms, next, nil
}

// Status actions.
const (
	ActionRevoke    = "revoke"
	ActionSuspend   = "suspend"
	ActionReinstate = "reinstate"
)

// ChangeStatus revokes, suspends or reinstates a member. Revocation is
// final for the cards: they are revoked too, and reinstating after a
// revocation needs a new card.
//
// The change is a compare-and-set under the member's row lock: the status
// is read, changed and audited in one transaction, so the audit's "before"
// is the status actually replaced, and the cards revoked are those active
// at that moment (a card issued concurrently either comes first and is
// revoked too, or waits and is refused). Of two racing identical changes
// the loser answers 409 already_<status>, the state it finds.
func (s *Service) ChangeStatus(ctx context.Context, p *model.Principal, id, action, reason string) (*model.Member, error) {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > 500 {
		return nil, model.Invalidf("reason", "reason_too_long", "the reason must be at most 500 characters")
	}
	var to model.MemberStatus
	switch action {
	case ActionRevoke:
		to = model.MemberRevoked
		if reason == "" {
			return nil, model.Invalidf("reason", "reason_required", "a reason is required to revoke a membership")
		}
	case ActionSuspend:
		to = model.MemberSuspended
	case ActionReinstate:
		to = model.MemberActive
	default:
		return nil, model.Invalidf("action", "invalid_action", "unknown action")
	}
	if _, err := uuid.Parse(id); err != nil {
		return nil, memberNotFound()
	}
	var after model.Member
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		before, err := tx.LockMember(ctx, id)
		if errors.Is(err, model.ErrNotFound) {
			return memberNotFound()
		}
		if err != nil {
			return err
		}
		if before.Status == to {
			return model.NewProblem(model.ErrConflict, "already_"+string(to), "The membership is already "+string(to)+".")
		}
		now := s.now()
		after = *before
		after.Status, after.StatusReason, after.UpdatedAt = to, reason, now
		if err := tx.SetMemberStatus(ctx, id, before.Status, to, reason, now); err != nil {
			if errors.Is(err, model.ErrConflict) {
				return model.NewProblem(model.ErrConflict, "status_changed", "The membership was changed by another request at the same time; reload and try again.")
			}
			return err
		}
		if to == model.MemberRevoked {
			if _, err := tx.RevokeMemberCards(ctx, id, now); err != nil {
				return err
			}
		}
		return tx.InsertAudit(ctx, p.Audit(newID(), now, "member."+action, "member", id,
			model.JSON(statusView(*before)), model.JSON(statusView(after))))
	})
	if err != nil {
		return nil, fmt.Errorf("%s member: %w", action, err)
	}
	return &after, nil
}

func memberNotFound() error {
	return model.NewProblem(model.ErrNotFound, "member_not_found", "No member has this id.")
}

func statusView(m model.Member) map[string]string {
	return map[string]string{"status": string(m.Status), "reason": m.StatusReason}
}

// IssuedCard is what HR gets back when issuing a card; the enrolment token
// is shown once.
type IssuedCard struct {
	CardID          string    `json:"card_id"`
	EnrollmentURL   string    `json:"enrollment_url"`
	EnrollmentToken string    `json:"enrollment_token"`
	ExpiresAt       time.Time `json:"enrollment_expires_at"`
	Replaced        string    `json:"replaced_card_id,omitempty"`
}

// IssueCard issues (or re-issues, revoking the old card and its wallet) the
// member's card.
//
// It is a compare-and-set on the member's active card: the card seen when
// the request began is the one replaced, under the member's row lock and
// in the transaction that inserts the new card. When another issue or a
// revocation came in between, the request answers 409 card_issue_conflict
// (or member_not_active) and writes nothing, so every enrolment link handed
// out belongs to a card that was active when its transaction committed.
func (s *Service) IssueCard(ctx context.Context, p *model.Principal, memberID string) (*IssuedCard, error) {
	d, err := s.Get(ctx, memberID)
	if err != nil {
		return nil, err
	}
	notActive := model.NewProblem(model.ErrConflict, "member_not_active", "Cards can be issued only to active members; reinstate the membership first.")
	if d.Status != model.MemberActive {
		return nil, notActive
	}
	replaces := ""
	for _, c := range d.Cards {
		if c.Status == model.CardActive {
			replaces = c.ID
			break
		}
	}
	now := s.now()
	cardID := uuid.New()
	secret, err := credential.NewTOTPSecret(rand.Reader)
	if err != nil {
		return nil, err
	}
	keyID, kid, priv := s.keys.Signer()
	signed, err := credential.SignCard(priv, credential.Card{KeyID: keyID, CardID: cardID, IssuedAt: now,
		ExpiresAt: now.Add(s.opt.CardValidity), Companions: uint8(s.opt.Companions), Tier: d.Tier})
	if err != nil {
		return nil, fmt.Errorf("sign card: %w", err)
	}
	enc, err := s.sealer.Seal(secret, "card:"+cardID.String())
	if err != nil {
		return nil, err
	}
	token, hash, err := auth.NewToken(auth.PrefixEnroll)
	if err != nil {
		return nil, err
	}
	card := &model.Card{ID: cardID.String(), MemberID: memberID, Status: model.CardActive, KeyID: kid, SignedPart: signed,
		TOTPSecretEnc: enc, Companions: s.opt.Companions, IssuedAt: now.Truncate(time.Second), ExpiresAt: now.Add(s.opt.CardValidity).Truncate(time.Second),
		EnrollTokenHash: hash, EnrollExpiresAt: now.Add(s.opt.EnrollValidity)}
	out := &IssuedCard{CardID: card.ID, EnrollmentURL: s.opt.BaseURL + "/w/enroll/" + token, EnrollmentToken: token, ExpiresAt: card.EnrollExpiresAt}
	out.Replaced = replaces
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		m, err := tx.LockMember(ctx, memberID)
		if err != nil {
			return err
		}
		if m.Status != model.MemberActive {
			return notActive
		}
		if err := tx.IssueCard(ctx, card, replaces, now); err != nil {
			if errors.Is(err, model.ErrConflict) {
				return model.NewProblem(model.ErrConflict, "card_issue_conflict",
					"The card was issued or re-issued by another request at the same time; reload, and re-issue only if a new card is still needed.")
			}
			return err
		}
		action := "card.issue"
		if replaces != "" {
			action = "card.reissue"
		}
		return tx.InsertAudit(ctx, p.Audit(newID(), now, action, "member", memberID,
			model.JSON(map[string]string{"card_id": replaces}), model.JSON(map[string]string{"card_id": card.ID, "kid": kid})))
	})
	if err != nil {
		return nil, fmt.Errorf("issue card: %w", err)
	}
	return out, nil
}

// Audit lists audit entries.
func (s *Service) Audit(ctx context.Context, f AuditFilter) ([]model.AuditEntry, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	es, err := s.st.ListAudit(ctx, storeAuditFilter(f))
	if err != nil {
		return nil, err
	}
	if es == nil {
		es = []model.AuditEntry{}
	}
	return es, nil
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// Counts returns the number of members by status.
func (s *Service) Counts(ctx context.Context) (map[string]int, error) {
	return s.st.CountMembers(ctx)
}

// Tiers lists the tiers members have.
func (s *Service) Tiers(ctx context.Context) ([]string, error) {
	return s.st.MemberTiers(ctx)
}

package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/bcrypt"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/seal"
	"github.com/alumnipass/alumnipass/internal/store"
)

// SessionTTL is how long a console sign-in lasts.
const SessionTTL = 12 * time.Hour

// Console signs console users in: password, then a TOTP code.
type Console struct {
	st     *store.Store
	sealer *seal.Sealer
	now    func() time.Time
	issuer string
	dummy  func() []byte // a bcrypt hash to compare against for unknown e-mails
}

// NewConsole makes the console authenticator.
func NewConsole(st *store.Store, sealer *seal.Sealer, now func() time.Time) *Console {
	dummy := sync.OnceValue(func() []byte {
		h, _ := bcrypt.GenerateFromPassword([]byte("no such user"), 12)
		return h
	})
	return &Console{st: st, sealer: sealer, now: now, issuer: "alumnipass", dummy: dummy}
}

// HashPassword hashes a password with bcrypt (cost 12).
func HashPassword(pw string) (string, error) {
	if len(pw) < 10 || len(pw) > 72 {
		return "", model.Invalidf("password", "weak_password", "the password must be 10 to 72 characters")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), 12)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// CreateAdmin adds a console user and returns it. A partner manager needs a partner.
func (c *Console) CreateAdmin(ctx context.Context, email, name, password, role, partnerID, locale string) (*model.Admin, error) {
	switch role {
	case model.RoleAdmin, model.RoleHR, model.RoleViewer:
		partnerID = ""
	case model.RolePartnerManager:
		if partnerID == "" {
			return nil, model.Invalidf("partner_id", "partner_required", "a partner manager belongs to a partner")
		}
	default:
		return nil, model.Invalidf("role", "invalid_role", "role must be admin, hr, viewer or partner_manager")
	}
	hash, err := HashPassword(password)
	if err != nil {
		return nil, err
	}
	a := &model.Admin{ID: uuid.NewString(), Email: strings.ToLower(strings.TrimSpace(email)), Name: name, PasswordHash: hash, Role: role, Locale: locale, CreatedAt: c.now()}
	if partnerID != "" {
		a.PartnerID = &partnerID
	}
	if err := c.st.CreateAdmin(ctx, a); err != nil {
		return nil, fmt.Errorf("create admin: %w", err)
	}
	return a, nil
}

// SignIn checks a password and opens a session that still needs the second
// factor. Wrong e-mail and wrong password take the same time and answer.
func (c *Console) SignIn(ctx context.Context, email, password string) (cookie string, a *model.Admin, err error) {
	a, err = c.st.AdminByEmail(ctx, strings.TrimSpace(email))
	if errors.Is(err, model.ErrNotFound) {
		_ = bcrypt.CompareHashAndPassword(c.dummy(), []byte(password))
		return "", nil, model.NewProblem(model.ErrUnauthorized, "bad_credentials", "The e-mail or password is wrong.")
	}
	if err != nil {
		return "", nil, fmt.Errorf("sign in: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte(password)) != nil || a.DisabledAt != nil {
		return "", nil, model.NewProblem(model.ErrUnauthorized, "bad_credentials", "The e-mail or password is wrong.")
	}
	cookie, err = c.newSession(ctx, a.ID)
	return cookie, a, err
}

func (c *Console) newSession(ctx context.Context, adminID string) (string, error) {
	tok, hash, err := NewToken("aps_")
	if err != nil {
		return "", err
	}
	csrf, _, err := NewToken("")
	if err != nil {
		return "", err
	}
	now := c.now()
	if err := c.st.CreateSession(ctx, &store.Session{IDHash: hash, AdminID: adminID, CSRF: csrf, CreatedAt: now, ExpiresAt: now.Add(SessionTTL)}); err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	return tok, nil
}

// Session is a console user's live session.
type Session struct {
	Hash    string
	Admin   *model.Admin
	CSRF    string
	MFADone bool
}

// Session resolves a session cookie.
func (c *Console) Session(ctx context.Context, cookie string) (*Session, error) {
	if !strings.HasPrefix(cookie, "aps_") {
		return nil, model.ErrUnauthorized
	}
	hash := HashToken(cookie)
	s, err := c.st.SessionByHash(ctx, hash, c.now())
	if errors.Is(err, model.ErrNotFound) {
		return nil, model.ErrUnauthorized
	}
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	a, err := c.st.Admin(ctx, s.AdminID)
	if err != nil {
		return nil, fmt.Errorf("session admin: %w", err)
	}
	if a.DisabledAt != nil {
		return nil, model.ErrUnauthorized
	}
	return &Session{Hash: hash, Admin: a, CSRF: s.CSRF, MFADone: s.MFADone}, nil
}

// SignOut ends a session.
func (c *Console) SignOut(ctx context.Context, s *Session) error {
	return c.st.DeleteSession(ctx, s.Hash)
}

// CheckCSRF compares a submitted token with the session's in constant time.
func (s *Session) CheckCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.CSRF)) == 1
}

// StartTOTPEnrolment creates (or re-creates, while unconfirmed) the user's
// TOTP secret and returns the otpauth URL to show as a QR code.
func (c *Console) StartTOTPEnrolment(ctx context.Context, a *model.Admin) (url, secret string, err error) {
	if a.TOTPEnabled {
		return "", "", model.NewProblem(model.ErrConflict, "totp_enabled", "Two-factor sign-in is already set up.")
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: c.issuer, AccountName: a.Email, Rand: rand.Reader})
	if err != nil {
		return "", "", fmt.Errorf("generate totp: %w", err)
	}
	enc, err := c.sealer.Seal([]byte(key.Secret()), "admin-totp:"+a.ID)
	if err != nil {
		return "", "", err
	}
	if err := c.st.SetAdminTOTP(ctx, a.ID, enc, false); err != nil {
		return "", "", err
	}
	return key.URL(), key.Secret(), nil
}

// CheckTOTP verifies a second-factor code for the session's user; the
// first success after enrolment confirms the enrolment.
func (c *Console) CheckTOTP(ctx context.Context, s *Session, code string) error {
	a := s.Admin
	if a.TOTPSecretEnc == nil {
		return model.NewProblem(model.ErrConflict, "totp_not_enrolled", "Set up two-factor sign-in first.")
	}
	secret, err := c.sealer.Open(a.TOTPSecretEnc, "admin-totp:"+a.ID)
	if err != nil {
		return fmt.Errorf("open admin totp: %w", err)
	}
	ok, err := totp.ValidateCustom(strings.TrimSpace(code), string(secret), c.now(), totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil || !ok {
		return model.NewProblem(model.ErrUnauthorized, "bad_totp", "The code is wrong or too old. Enter the current 6-digit code from your authenticator app.")
	}
	if !a.TOTPEnabled {
		if err := c.st.SetAdminTOTP(ctx, a.ID, a.TOTPSecretEnc, true); err != nil {
			return err
		}
	}
	return c.st.CompleteSessionMFA(ctx, s.Hash)
}

// Principal is the session's user as a principal.
func (s *Session) Principal(requestID string) *model.Principal {
	p := &model.Principal{Kind: "admin", ID: s.Admin.ID, Name: s.Admin.Email, Role: s.Admin.Role, RequestID: requestID}
	if s.Admin.PartnerID != nil {
		p.PartnerID = *s.Admin.PartnerID
	}
	return p
}

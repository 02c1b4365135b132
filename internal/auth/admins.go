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

// SignIn checks a password from a client address and opens a session that
// still needs the second factor. Wrong e-mail and wrong password take the
// same time and answer. Every attempt is counted against the (account,
// address) pair and the address before the password is checked, and a
// right password clears the count; past the free attempts the answer is a
// *ThrottledError (signin_throttle.go).
func (c *Console) SignIn(ctx context.Context, email, password, addr string) (cookie string, a *model.Admin, err error) {
	email = strings.ToLower(strings.TrimSpace(email))
	pairKey, addrKey := signInKeys(email, addr)
	if err := c.chargeSignIn(ctx, pairKey, addrKey); err != nil {
		return "", nil, err
	}
	a, err = c.st.AdminByEmail(ctx, email)
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
	if err := c.refundSignIn(ctx, pairKey, addrKey); err != nil {
		return "", nil, err
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
	// pendingTOTP is the sealed secret this session is setting up.
	pendingTOTP []byte
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
	return &Session{Hash: hash, Admin: a, CSRF: s.CSRF, MFADone: s.MFADone, pendingTOTP: s.TOTPPendingEnc}, nil
}

// SignOut ends a session.
func (c *Console) SignOut(ctx context.Context, s *Session) error {
	return c.st.DeleteSession(ctx, s.Hash)
}

// CheckCSRF compares a submitted token with the session's in constant time.
func (s *Session) CheckCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.CSRF)) == 1
}

// StartTOTPEnrolment makes a new TOTP secret for the user of a session
// that has passed the password but has no confirmed second factor, keeps it
// (sealed) with that session only, and returns the otpauth URL to show as a
// QR code. Another session holding the password gets a secret of its own,
// and none of them is worth anything once one is confirmed.
func (c *Console) StartTOTPEnrolment(ctx context.Context, s *Session) (url, secret string, err error) {
	a := s.Admin
	if a.TOTPEnabled || s.MFADone {
		return "", "", model.NewProblem(model.ErrConflict, "totp_enabled", "Two-factor sign-in is already set up.")
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: c.issuer, AccountName: a.Email, Rand: rand.Reader})
	if err != nil {
		return "", "", fmt.Errorf("generate totp: %w", err)
	}
	enc, err := c.sealer.Seal([]byte(key.Secret()), totpAD(a.ID))
	if err != nil {
		return "", "", err
	}
	ok, err := c.st.SetSessionPendingTOTP(ctx, s.Hash, enc, s.pendingTOTP)
	if err != nil {
		return "", "", err
	}
	if !ok { // a reload of the page raced this one, or the session moved on
		return "", "", model.NewProblem(model.ErrConflict, "totp_setup_changed", "Reload the page to see the code to scan.")
	}
	s.pendingTOTP = enc
	return key.URL(), key.Secret(), nil
}

// totpAD binds a sealed TOTP secret to its console user: a session's
// pending secret is sealed exactly as the confirmed one, so confirming
// copies it as it is.
func totpAD(adminID string) string { return "admin-totp:" + adminID }

// totpOpts are the console's TOTP parameters: 30 s steps, one step of
// clock drift either way.
const (
	totpPeriod = 30
	totpSkew   = 1
)

// matchTOTPStep returns the time step whose code is code, within the
// allowed drift, or -1.
func matchTOTPStep(secret, code string, now time.Time) int64 {
	code = strings.TrimSpace(code)
	if len(code) != 6 {
		return -1
	}
	step := now.Unix() / totpPeriod
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix((step+d)*totpPeriod, 0), totp.ValidateOpts{
			Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step + d
		}
	}
	return -1
}

var errBadTOTP = model.NewProblem(model.ErrUnauthorized, "bad_totp", "The code is wrong or too old. Enter the current 6-digit code from your authenticator app.")

// CheckTOTP verifies a second-factor code for the session's user and, when
// it is right, completes the session under a new id, returned as the new
// cookie (the old one is dead). A code is accepted once: its time step is
// recorded per user with a guarded update, so a replayed code, or two
// sign-ins racing with one code, leave exactly one success. For a session
// setting the factor up, the code must match the secret that session was
// shown, and the first such success confirms it.
func (c *Console) CheckTOTP(ctx context.Context, s *Session, code string) (cookie string, err error) {
	a := s.Admin
	enc := a.TOTPSecretEnc
	if !a.TOTPEnabled {
		enc = s.pendingTOTP
	}
	if enc == nil {
		return "", model.NewProblem(model.ErrConflict, "totp_not_enrolled", "Set up two-factor sign-in first.")
	}
	secret, err := c.sealer.Open(enc, totpAD(a.ID))
	if err != nil {
		if !a.TOTPEnabled { // sealed under a master key since rotated: the setup page makes a new one
			return "", errBadTOTP
		}
		return "", fmt.Errorf("open admin totp: %w", err)
	}
	step := matchTOTPStep(string(secret), code, c.now())
	if step < 0 {
		return "", errBadTOTP
	}
	tok, hash, err := NewToken("aps_")
	if err != nil {
		return "", err
	}
	csrf, _, err := NewToken("")
	if err != nil {
		return "", err
	}
	err = c.st.InTx(ctx, func(tx *store.Tx) error {
		var ok bool
		var err error
		if a.TOTPEnabled {
			ok, err = tx.UseAdminTOTPStep(ctx, a.ID, step)
		} else if ok, err = tx.ConfirmAdminTOTP(ctx, a.ID, enc, step); ok {
			err = tx.ClearPendingTOTP(ctx, a.ID)
		}
		if err != nil {
			return err
		}
		if !ok { // the code was used already, or another session confirmed first
			return errBadTOTP
		}
		if ok, err = tx.RenewSession(ctx, s.Hash, hash, csrf); err != nil {
			return err
		} else if !ok {
			return model.ErrUnauthorized
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("check totp: %w", err)
	}
	s.Hash, s.CSRF, s.MFADone, s.pendingTOTP = hash, csrf, true, nil
	a.TOTPEnabled = true
	return tok, nil
}

// Principal is the session's user as a principal.
func (s *Session) Principal(requestID string) *model.Principal {
	p := &model.Principal{Kind: "admin", ID: s.Admin.ID, Name: s.Admin.Email, Role: s.Admin.Role, RequestID: requestID}
	if s.Admin.PartnerID != nil {
		p.PartnerID = *s.Admin.PartnerID
	}
	return p
}

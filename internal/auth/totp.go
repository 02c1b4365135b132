package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// totpOpts are the console's TOTP parameters: 30 s steps, one step of
// clock drift either way.
const (
	totpPeriod = 30
	totpSkew   = 1
)

var errBadTOTP = model.NewProblem(model.ErrUnauthorized, "bad_totp", "The code is wrong or too old. Enter the current 6-digit code from your authenticator app.")

// PendingTOTP returns the otpauth URL and secret of the TOTP enrolment this
// session has started, or starts one. The setup page shows the same secret
// on every reload within the session until a code confirms it, so a user
// who scanned it once and mistyped a code need not scan again; another
// session gets its own.
func (c *Console) PendingTOTP(ctx context.Context, s *Session) (url, secret string, err error) {
	a := s.Admin
	if a.TOTPEnabled {
		return "", "", model.NewProblem(model.ErrConflict, "totp_enabled", "Two-factor sign-in is already set up.")
	}
	if s.pendingTOTP == nil {
		return c.StartTOTPEnrolment(ctx, s)
	}
	raw, err := c.sealer.Open(s.pendingTOTP, totpAD(a.ID))
	if err != nil { // sealed under a master key since rotated
		return c.StartTOTPEnrolment(ctx, s)
	}
	bytes, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(string(raw))
	if err != nil {
		return c.StartTOTPEnrolment(ctx, s)
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: c.issuer, AccountName: a.Email, Secret: bytes})
	if err != nil {
		return "", "", fmt.Errorf("totp url: %w", err)
	}
	return key.URL(), key.Secret(), nil
}

// RecordTOTPEnrolled audits that a console user confirmed a second factor.
func (c *Console) RecordTOTPEnrolled(ctx context.Context, p *model.Principal) error {
	e := p.Audit(uuid.Must(uuid.NewV7()).String(), c.now(), "admin.totp_enrolled", "admin", p.ID, "", "")
	if err := c.st.InsertAudit(ctx, e); err != nil {
		return fmt.Errorf("record totp enrolment: %w", err)
	}
	return nil
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
	tok, hash, csrf, err := sessionTokens()
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

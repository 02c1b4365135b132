package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// Session is a console user's live session.
type Session struct {
	Hash    string
	Admin   *model.Admin
	CSRF    string
	MFADone bool
	// pendingTOTP is the sealed secret this session is setting up.
	pendingTOTP []byte
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

// sessionTokens makes a new session cookie (and the hash it is stored
// under) and a new CSRF token: at sign-in, and again when the second factor
// completes, so that no id seen before it survives.
func sessionTokens() (cookie, hash, csrf string, err error) {
	if cookie, hash, err = NewToken("aps_"); err != nil {
		return "", "", "", err
	}
	if csrf, _, err = NewToken(""); err != nil {
		return "", "", "", err
	}
	return cookie, hash, csrf, nil
}

func (c *Console) newSession(ctx context.Context, adminID string) (string, error) {
	tok, hash, csrf, err := sessionTokens()
	if err != nil {
		return "", err
	}
	now := c.now()
	if err := c.st.CreateSession(ctx, &store.Session{IDHash: hash, AdminID: adminID, CSRF: csrf, CreatedAt: now, ExpiresAt: now.Add(SessionTTL)}); err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	return tok, nil
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
	if a.PartnerID != nil { // a deactivated partner's managers are out too
		pa, err := c.st.Partner(ctx, *a.PartnerID)
		if err != nil {
			return nil, fmt.Errorf("session partner: %w", err)
		}
		if pa.DeactivatedAt != nil {
			return nil, model.ErrUnauthorized
		}
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

// Principal is the session's user as a principal.
func (s *Session) Principal(requestID string) *model.Principal {
	p := &model.Principal{Kind: "admin", ID: s.Admin.ID, Name: s.Admin.Email, Role: s.Admin.Role, RequestID: requestID}
	if s.Admin.PartnerID != nil {
		p.PartnerID = *s.Admin.PartnerID
	}
	return p
}

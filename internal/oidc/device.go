package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/model"
)

// A sign-in that starts on a device without the wallet (a laptop booking a
// hotel) is finished on the phone that holds it, as in OAuth's device
// authorization (RFC 8628): the laptop shows a short user code, and a QR
// of the page that takes it; the member confirms the code in the wallet;
// the laptop, which waits with a cookie bound to the request, then goes on
// to the partner. Only that browser can go on, so a code read over the
// member's shoulder opens nothing.

// userCodeAlphabet has no vowels (no words) and no look-alikes (0/O, 1/I):
// 20^8 ≈ 2.6×10^10 codes, against a few live ones and a rate limit.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// UserCodeLen is the length of a user code without its dash.
const UserCodeLen = 8

func newUserCode() (string, error) {
	b := make([]byte, UserCodeLen)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("user code: %w", err)
	}
	for i := range b {
		b[i] = userCodeAlphabet[int(b[i])%len(userCodeAlphabet)] // 256 = 12×20+16: a bias of under 1 in 12 on 16 letters, of no use against the rate limit
	}
	return string(b), nil
}

// NormalizeUserCode is a user code as typed or scanned, upper case without
// spaces or dashes; "" when it cannot be one.
func NormalizeUserCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ' || r == '\u3000' || r == '\u30fc': // ascii or full-width space, katakana long mark typed for a dash
			continue
		case r >= 'Ａ' && r <= 'Ｚ': // full-width letters from a Japanese keyboard
			r = r - 'Ａ' + 'A'
		case r >= 'ａ' && r <= 'ｚ':
			r = r - 'ａ' + 'A'
		}
		if !strings.ContainsRune(userCodeAlphabet, r) {
			return ""
		}
		b.WriteRune(r)
	}
	if b.Len() != UserCodeLen {
		return ""
	}
	return b.String()
}

// FormatUserCode shows a code as the member reads it: "BCDF-GHJK".
func FormatUserCode(code string) string {
	if len(code) != UserCodeLen {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// BrowserHash is what the database keeps of the waiting browser's cookie.
func BrowserHash(secret string) string {
	sum := sha256.Sum256([]byte("alumnipass oidc browser\x00" + secret))
	return hex.EncodeToString(sum[:])
}

// NewBrowserSecret draws the cookie that binds a waiting browser.
func NewBrowserSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("browser secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// OtherDeviceCode is what the waiting device shows.
type OtherDeviceCode struct {
	Pending   *Pending
	UserCode  string // as drawn, NormalizeUserCode's form
	ExpiresAt time.Time
}

func elsewhere() error {
	return model.NewProblem(model.ErrConflict, "sign_in_elsewhere", "This sign-in is already being finished in another browser. Start again on the partner's site.")
}

// ShowOnOtherDevice gives the pending sign-in id a user code, bound to the
// browser holding secret; the same browser asking again (a reload, a
// second tab) gets the same code, another browser is refused.
func (p *Provider) ShowOnOtherDevice(ctx context.Context, id, secret string) (*OtherDeviceCode, error) {
	pend, err := p.Pending(ctx, id)
	if err != nil {
		return nil, err
	}
	hash := BrowserHash(secret)
	for range 5 {
		r, err := p.st.OIDCAuthRequest(ctx, pend.ID)
		if err != nil {
			return nil, err
		}
		if r.MemberID != nil || !p.now().Before(r.ExpiresAt) {
			return nil, requestGone()
		}
		if r.UserCode != nil {
			if r.BrowserHash == nil || subtle.ConstantTimeCompare([]byte(*r.BrowserHash), []byte(hash)) != 1 {
				return nil, elsewhere()
			}
			return &OtherDeviceCode{Pending: pend, UserCode: *r.UserCode, ExpiresAt: r.ExpiresAt}, nil
		}
		code, err := newUserCode()
		if err != nil {
			return nil, err
		}
		err = p.st.SetOIDCUserCode(ctx, pend.ID, code, hash, p.now())
		if err == nil {
			return &OtherDeviceCode{Pending: pend, UserCode: code, ExpiresAt: r.ExpiresAt}, nil
		}
		if !errors.Is(err, model.ErrConflict) {
			return nil, err
		}
		// Another tab set a code first, or the code was taken: read again.
	}
	return nil, fmt.Errorf("user code for sign-in %s: no free code in 5 draws", pend.ID)
}

// Waiting is where a sign-in on another device stands, for the browser
// that shows its code.
type Waiting string

const (
	WaitingPending  Waiting = "pending"  // not answered yet
	WaitingApproved Waiting = "approved" // approved in the wallet: go on
	WaitingGone     Waiting = "gone"     // declined, expired or unknown
)

// Wait says where the sign-in id stands for the browser holding secret,
// and once approved the URL that completes it (the partner's callback
// with the code). To any other browser the sign-in is gone.
func (p *Provider) Wait(ctx context.Context, id, secret string) (Waiting, string, error) {
	if _, err := uuid.Parse(id); err != nil || secret == "" {
		return WaitingGone, "", nil
	}
	r, err := p.st.OIDCAuthRequest(ctx, id)
	if errors.Is(err, model.ErrNotFound) {
		return WaitingGone, "", nil
	}
	if err != nil {
		return "", "", err
	}
	if r.BrowserHash == nil || subtle.ConstantTimeCompare([]byte(*r.BrowserHash), []byte(BrowserHash(secret))) != 1 {
		return WaitingGone, "", nil
	}
	if !p.now().Before(r.ExpiresAt) || r.CodeUsedAt != nil {
		return WaitingGone, "", nil
	}
	if r.MemberID != nil {
		return WaitingApproved, p.callbackURL(ctx, r.ID), nil
	}
	return WaitingPending, "", nil
}

// UserCodeNotFoundCode is the problem code of a user code that matches no
// waiting sign-in.
const UserCodeNotFoundCode = "user_code_not_found"

func userCodeNotFound() error {
	return model.NewProblem(model.ErrNotFound, UserCodeNotFoundCode, "No sign-in is waiting with this code. Check the code on your other screen; a code lasts a few minutes.")
}

// PendingByUserCode returns the sign-in waiting on another device with
// the code the member typed or scanned.
func (p *Provider) PendingByUserCode(ctx context.Context, typed string) (*Pending, error) {
	code := NormalizeUserCode(typed)
	if code == "" {
		return nil, userCodeNotFound()
	}
	r, err := p.st.OIDCAuthRequestByUserCode(ctx, code)
	if errors.Is(err, model.ErrNotFound) {
		return nil, userCodeNotFound()
	}
	if err != nil {
		return nil, err
	}
	pend, err := p.Pending(ctx, r.ID)
	var prob *model.Problem
	if errors.As(err, &prob) && prob.Kind == model.ErrNotFound {
		return nil, userCodeNotFound()
	}
	return pend, err
}

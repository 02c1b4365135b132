package auth

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/pquerna/otp/totp"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// What the HR console needs of console users beyond signing in: showing an
// unconfirmed second factor again, listing users and adding one, audited.

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

// ListAdmins returns every console user.
func (c *Console) ListAdmins(ctx context.Context) ([]model.Admin, error) {
	return c.st.ListAdmins(ctx)
}

// AdminByEmail finds a console user by e-mail (the audit log's actor filter).
func (c *Console) AdminByEmail(ctx context.Context, email string) (*model.Admin, error) {
	return c.st.AdminByEmail(ctx, strings.TrimSpace(email))
}

// NewAdmin is a console user as an administrator types it.
type NewAdmin struct {
	Email     string
	Name      string
	Password  string
	Role      string
	PartnerID string
	Locale    string
}

// AddAdmin creates a console user on behalf of p and audits it; the
// password hash never enters the audit entry.
func (c *Console) AddAdmin(ctx context.Context, p *model.Principal, in NewAdmin) (*model.Admin, error) {
	in.Email, in.Name = strings.ToLower(strings.TrimSpace(in.Email)), strings.TrimSpace(in.Name)
	if !strings.Contains(in.Email, "@") || len(in.Email) > 254 || strings.ContainsAny(in.Email, " \t\r\n") {
		return nil, model.Invalidf("email", "invalid_email", "email must be a plain e-mail address such as hr@example.com")
	}
	if in.Name == "" || len([]rune(in.Name)) > 100 {
		return nil, model.Invalidf("name", "invalid_name", "name is required and must be at most 100 characters")
	}
	switch in.Locale {
	case "ja", "en":
	case "":
		in.Locale = "ja"
	default:
		return nil, model.Invalidf("locale", "invalid_locale", "locale must be ja or en")
	}
	switch in.Role {
	case model.RoleAdmin, model.RoleHR, model.RoleViewer:
		in.PartnerID = ""
	case model.RolePartnerManager:
		if in.PartnerID == "" {
			return nil, model.Invalidf("partner_id", "partner_required", "a partner manager belongs to a partner")
		}
		if _, err := uuid.Parse(in.PartnerID); err != nil {
			return nil, model.Invalidf("partner_id", "partner_required", "a partner manager belongs to a partner")
		}
		if _, err := c.st.Partner(ctx, in.PartnerID); err != nil {
			if errors.Is(err, model.ErrNotFound) {
				return nil, model.Invalidf("partner_id", "partner_required", "a partner manager belongs to a partner")
			}
			return nil, err
		}
	default:
		return nil, model.Invalidf("role", "invalid_role", "role must be admin, hr, viewer or partner_manager")
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	a := &model.Admin{ID: uuid.NewString(), Email: in.Email, Name: in.Name, PasswordHash: hash, Role: in.Role, Locale: in.Locale, CreatedAt: c.now()}
	if in.PartnerID != "" {
		a.PartnerID = &in.PartnerID
	}
	after := model.JSON(map[string]string{"email": a.Email, "name": a.Name, "role": a.Role, "partner_id": in.PartnerID, "locale": a.Locale})
	err = c.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateAdmin(ctx, a); err != nil {
			if errors.Is(err, model.ErrConflict) {
				return model.NewProblem(model.ErrConflict, "email_taken", "A console user with this e-mail already exists.")
			}
			return err
		}
		return tx.InsertAudit(ctx, p.Audit(uuid.Must(uuid.NewV7()).String(), c.now(), "admin.create", "admin", a.ID, "", after))
	})
	if err != nil {
		return nil, fmt.Errorf("add console user: %w", err)
	}
	return a, nil
}

// RecordTOTPEnrolled audits that a console user confirmed a second factor.
func (c *Console) RecordTOTPEnrolled(ctx context.Context, p *model.Principal) error {
	e := p.Audit(uuid.Must(uuid.NewV7()).String(), c.now(), "admin.totp_enrolled", "admin", p.ID, "", "")
	if err := c.st.InsertAudit(ctx, e); err != nil {
		return fmt.Errorf("record totp enrolment: %w", err)
	}
	return nil
}

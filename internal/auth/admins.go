package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/seal"
	"github.com/alumnipass/alumnipass/internal/store"
)

// SessionTTL is how long a console sign-in lasts.
const SessionTTL = 12 * time.Hour

// Console signs console users in: password, then a TOTP code.
type Console struct {
	st     Storer
	sealer *seal.Sealer
	now    func() time.Time
	issuer string
	dummy  func() []byte // a bcrypt hash to compare against for unknown e-mails
}

// NewConsole makes the console authenticator.
func NewConsole(st Storer, sealer *seal.Sealer, now func() time.Time) *Console {
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

// ListAdmins returns every console user.
func (c *Console) ListAdmins(ctx context.Context) ([]model.Admin, error) {
	return c.st.ListAdmins(ctx)
}

// AdminByEmail finds a console user by e-mail (the audit log's actor filter).
func (c *Console) AdminByEmail(ctx context.Context, email string) (*model.Admin, error) {
	return c.st.AdminByEmail(ctx, strings.TrimSpace(email))
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

// NewAdmin is a console user as an administrator types it.
type NewAdmin struct {
	Email     string
	Name      string
	Password  string
	Role      string
	PartnerID string
	Locale    string
}

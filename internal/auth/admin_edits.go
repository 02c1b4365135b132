package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// AdminPatch changes a console user's access: role (with the partner of a
// partner manager) or active (false disables the user and ends their
// sessions). Absent fields are kept.
type AdminPatch struct {
	Role      *string `json:"role"`
	PartnerID *string `json:"partner_id"`
	Active    *bool   `json:"active"`
}

// UpdateAdmin changes a console user's role or disables (or re-enables)
// them; an admin's decision only. The last active admin can be neither
// demoted nor disabled: the check runs under a lock of every active
// admin's row, so two admins removing each other at once cannot both
// succeed. A disabled user's sessions end at once; a role change applies
// at their next request (sessions read the user each time).
func (c *Console) UpdateAdmin(ctx context.Context, p *model.Principal, id string, patch AdminPatch) (*model.Admin, error) {
	if p.Role != model.RoleAdmin {
		return nil, model.NewProblem(model.ErrForbidden, "forbidden", "Only an admin can change console users.")
	}
	if _, err := uuid.Parse(id); err != nil {
		return nil, adminNotFound()
	}
	var after model.Admin
	err := c.st.InTx(ctx, func(tx *store.Tx) error {
		admins, err := tx.LockActiveAdmins(ctx)
		if err != nil {
			return err
		}
		before, err := tx.Admin(ctx, id)
		if errors.Is(err, model.ErrNotFound) {
			return adminNotFound()
		}
		if err != nil {
			return err
		}
		after = *before
		if err := c.applyAdminPatch(ctx, &after, patch); err != nil {
			return err
		}
		wasAdmin := before.Role == model.RoleAdmin && before.DisabledAt == nil
		isAdmin := after.Role == model.RoleAdmin && after.DisabledAt == nil
		if wasAdmin && !isAdmin && len(admins) <= 1 && slices.Contains(admins, id) {
			return model.NewProblem(model.ErrConflict, "last_admin", "This is the last active admin; make another user admin first.")
		}
		if after.Role == before.Role && ptrEq(after.PartnerID, before.PartnerID) && (after.DisabledAt == nil) == (before.DisabledAt == nil) {
			return nil
		}
		if err := tx.UpdateAdminAccess(ctx, id, after.Role, after.PartnerID, after.DisabledAt); err != nil {
			return err
		}
		if after.DisabledAt != nil {
			if err := tx.DeleteAdminSessions(ctx, id); err != nil {
				return err
			}
		}
		return tx.InsertAudit(ctx, p.Audit(uuid.Must(uuid.NewV7()).String(), c.now(), "admin.update", "admin", id,
			model.JSON(accessView(before)), model.JSON(accessView(&after))))
	})
	if err != nil {
		return nil, fmt.Errorf("update console user: %w", err)
	}
	return &after, nil
}

// applyAdminPatch checks a patch and lays it over a user.
func (c *Console) applyAdminPatch(ctx context.Context, a *model.Admin, patch AdminPatch) error {
	if patch.Role != nil {
		a.Role = *patch.Role
		a.PartnerID = patch.PartnerID
	}
	switch a.Role {
	case model.RoleAdmin, model.RoleHR, model.RoleViewer:
		a.PartnerID = nil
	case model.RolePartnerManager:
		if a.PartnerID == nil {
			return model.Invalidf("partner_id", "partner_required", "a partner manager belongs to a partner")
		}
		if _, err := uuid.Parse(*a.PartnerID); err != nil {
			return model.Invalidf("partner_id", "partner_required", "a partner manager belongs to a partner")
		}
		if _, err := c.st.Partner(ctx, *a.PartnerID); err != nil {
			if errors.Is(err, model.ErrNotFound) {
				return model.Invalidf("partner_id", "partner_required", "a partner manager belongs to a partner")
			}
			return err
		}
	default:
		return model.Invalidf("role", "invalid_role", "role must be admin, hr, viewer or partner_manager")
	}
	if patch.Active != nil {
		switch {
		case !*patch.Active && a.DisabledAt == nil:
			now := c.now().UTC().Truncate(time.Microsecond)
			a.DisabledAt = &now
		case *patch.Active:
			a.DisabledAt = nil
		}
	}
	return nil
}

// ResetPassword sets a console user's password to one an admin chose (to
// hand over by another channel) and ends the user's sessions.
func (c *Console) ResetPassword(ctx context.Context, p *model.Principal, id, password string) error {
	return c.resetCredential(ctx, p, id, "admin.reset_password", func(tx *store.Tx) error {
		hash, err := HashPassword(password)
		if err != nil {
			return err
		}
		return tx.SetAdminPassword(ctx, id, hash)
	})
}

// ResetSecondFactor removes a console user's second factor (a lost phone)
// and ends their sessions; their next sign-in sets up a new one.
func (c *Console) ResetSecondFactor(ctx context.Context, p *model.Principal, id string) error {
	return c.resetCredential(ctx, p, id, "admin.reset_totp", func(tx *store.Tx) error { return tx.ResetAdminTOTP(ctx, id) })
}

func (c *Console) resetCredential(ctx context.Context, p *model.Principal, id, action string, reset func(tx *store.Tx) error) error {
	if p.Role != model.RoleAdmin {
		return model.NewProblem(model.ErrForbidden, "forbidden", "Only an admin can reset a console user's credentials.")
	}
	if _, err := uuid.Parse(id); err != nil {
		return adminNotFound()
	}
	err := c.st.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Admin(ctx, id); errors.Is(err, model.ErrNotFound) {
			return adminNotFound()
		} else if err != nil {
			return err
		}
		if err := reset(tx); err != nil {
			return err
		}
		if err := tx.DeleteAdminSessions(ctx, id); err != nil {
			return err
		}
		return tx.InsertAudit(ctx, p.Audit(uuid.Must(uuid.NewV7()).String(), c.now(), action, "admin", id, "", ""))
	})
	if err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	return nil
}

func accessView(a *model.Admin) map[string]any {
	partner := ""
	if a.PartnerID != nil {
		partner = *a.PartnerID
	}
	return map[string]any{"role": a.Role, "partner_id": partner, "active": a.DisabledAt == nil}
}

func ptrEq(a, b *string) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func adminNotFound() error {
	return model.NewProblem(model.ErrNotFound, "admin_not_found", "No console user has this id.")
}

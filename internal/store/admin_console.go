package store

import (
	"context"
	"fmt"

	"github.com/alumnipass/alumnipass/internal/model"
)

// Queries the HR console needs beyond the API's: the list of console
// users and the tiers in use.

// ListAdmins returns every console user, HR first, then partner managers,
// each by e-mail.
func (c *Conn) ListAdmins(ctx context.Context) ([]model.Admin, error) {
	const q = `
		SELECT ` + adminColumns + `
		FROM admins
		ORDER BY CASE WHEN role = 'partner_manager' THEN 1 ELSE 0 END, email`
	var as []model.Admin
	if err := c.x.SelectContext(ctx, &as, q); err != nil {
		return nil, fmt.Errorf("list admins: %w", mapErr(err))
	}
	return as, nil
}

// MemberTiers lists the tiers members have, for filters and perk forms.
func (c *Conn) MemberTiers(ctx context.Context) ([]string, error) {
	const q = `SELECT DISTINCT tier FROM members ORDER BY tier LIMIT 100`
	var ts []string
	if err := c.x.SelectContext(ctx, &ts, q); err != nil {
		return nil, fmt.Errorf("member tiers: %w", mapErr(err))
	}
	return ts, nil
}

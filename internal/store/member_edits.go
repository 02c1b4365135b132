package store

import (
	"context"
	"fmt"

	"github.com/alumnipass/alumnipass/internal/model"
)

// UpdateMember writes a member's names, kana, e-mail, tier, departure date
// and locale (not the employee number or the status) and tells every
// instance at once, so the next scan anywhere shows the new tier and name.
func (c *Conn) UpdateMember(ctx context.Context, m *model.Member) error {
	const q = `
		UPDATE members SET family_name = ?, given_name = ?, family_name_kana = ?, given_name_kana = ?,
			email = ?, tier = ?, departed_on = ?, locale = ?, updated_at = ?, search_key = ?
		WHERE id = ?`
	res, err := c.x.ExecContext(ctx, c.q(q), m.FamilyName, m.GivenName, m.FamilyNameKana, m.GivenNameKana,
		m.Email, m.Tier, m.DepartedOn, m.Locale, c.ts(m.UpdatedAt), memberSearchKey(m), m.ID)
	if err != nil {
		return fmt.Errorf("update member: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("member %s: %w", m.ID, model.ErrNotFound)
	}
	return c.publish(ctx, EventMember, m.ID)
}

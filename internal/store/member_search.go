package store

import (
	"context"
	"fmt"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/textfold"
)

// memberSearchKey is the folded key ListMembers searches (migration 00010).
// The store computes it on every write of a member's names, reading,
// employee number or e-mail, so that no path can forget it; the names
// themselves are stored exactly as written.
func memberSearchKey(m *model.Member) string {
	return textfold.MemberKey(m.FamilyName, m.GivenName, m.FamilyNameKana, m.GivenNameKana, m.EmployeeNo, m.Email)
}

// backfillSearchKeys fills in the search key of members written before
// migration 00010 (their key is empty), in batches, each in its own
// transaction. It runs after every migration and finds nothing to do once
// done: the partial index members_search_key_pending_idx holds exactly
// the rows still to do. Returns how many rows it filled in.
func (s *Store) backfillSearchKeys(ctx context.Context) (int, error) {
	const batch = 1000
	const qSelect = `SELECT ` + memberColumns + ` FROM members WHERE search_key = '' ORDER BY id LIMIT ?`
	const qUpdate = `UPDATE members SET search_key = ? WHERE id = ? AND search_key = ''`
	total := 0
	for {
		var ms []model.Member
		if err := s.db.SelectContext(ctx, &ms, s.db.Rebind(qSelect), batch); err != nil {
			return total, fmt.Errorf("backfill search keys: %w", mapErr(err))
		}
		if len(ms) == 0 {
			return total, nil
		}
		err := s.InTx(ctx, func(tx *Tx) error {
			for i := range ms {
				if _, err := tx.x.ExecContext(ctx, tx.q(qUpdate), memberSearchKey(&ms[i]), ms[i].ID); err != nil {
					return fmt.Errorf("backfill search key of %s: %w", ms[i].ID, mapErr(err))
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += len(ms)
	}
}

package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// PerkUse is how often a member used a perk in a period ("d:2026-11-24",
// "m:2026-11"), as TakePerkUse counts it.
type PerkUse struct {
	PerkID string `db:"perk_id"`
	Period string `db:"period"`
	Uses   int    `db:"uses"`
}

// PerkUses reads a member's use counts of some perks in some periods, in one
// statement over the primary key of perk_usage; the verifier asks it once per
// valid scan to tell which perks can still be used.
func (c *Conn) PerkUses(ctx context.Context, memberID string, perkIDs, periods []string) ([]PerkUse, error) {
	if len(perkIDs) == 0 || len(periods) == 0 {
		return nil, nil
	}
	q := `SELECT perk_id, period, uses FROM perk_usage
		WHERE perk_id IN (` + placeholders(len(perkIDs)) + `) AND member_id = ? AND period IN (` + placeholders(len(periods)) + `)`
	args := make([]any, 0, len(perkIDs)+1+len(periods))
	for _, id := range perkIDs {
		args = append(args, id)
	}
	args = append(args, memberID)
	for _, p := range periods {
		args = append(args, p)
	}
	var rows []PerkUse
	if err := c.x.SelectContext(ctx, &rows, c.q(q), args...); err != nil {
		return nil, fmt.Errorf("perk uses: %w", mapErr(err))
	}
	return rows, nil
}

// RecordedUse is a redemption recorded against one verification.
type RecordedUse struct {
	PerkID    string    `db:"perk_id"`
	PartySize int       `db:"party_size"`
	At        time.Time `db:"at"`
}

// VerificationRedemptions lists what was recorded against a verification
// (the unique key on verification and perk serves it), so that a re-scan of
// the same code can say "already recorded".
func (c *Conn) VerificationRedemptions(ctx context.Context, verificationID string) ([]RecordedUse, error) {
	const q = `SELECT perk_id, party_size, at FROM redemptions WHERE verification_id = ? ORDER BY at`
	var rows []RecordedUse
	if err := c.x.SelectContext(ctx, &rows, c.q(q), verificationID); err != nil {
		return nil, fmt.Errorf("verification redemptions: %w", mapErr(err))
	}
	return rows, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

package partners

import (
	"context"
	"fmt"
	"strconv"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// The bounds of a partner's offline limit, in minutes: how old a scanner's
// offline data (keys.json and the signed status list) may be before it
// refuses to decide without the server. Shorter is stricter: a revocation
// reaches an offline scanner only with its next data.
const (
	DefaultOfflineMinutes = 15
	MinOfflineMinutes     = 1
	MaxOfflineMinutes     = 24 * 60
)

// OfflineLimit is the partner's offline limit in minutes (the default
// when it has set none).
func (s *Service) OfflineLimit(ctx context.Context, p *model.Principal, partnerID string) (int, error) {
	if err := canSee(p, partnerID); err != nil {
		return 0, err
	}
	secs, err := s.st.OfflineMaxAge(ctx, partnerID)
	if err != nil {
		return 0, err
	}
	if secs == 0 {
		return DefaultOfflineMinutes, nil
	}
	return secs / 60, nil
}

// SetOfflineLimit sets the partner's offline limit, audited with the one
// it replaces. Scanners learn it from devices/me when next online.
func (s *Service) SetOfflineLimit(ctx context.Context, p *model.Principal, partnerID string, minutes int) error {
	if minutes < MinOfflineMinutes || minutes > MaxOfflineMinutes {
		return model.Invalidf("minutes", "invalid_offline_limit",
			fmt.Sprintf("minutes must be between %d and %d (a day)", MinOfflineMinutes, MaxOfflineMinutes))
	}
	d, err := s.Get(ctx, p, partnerID)
	if err != nil {
		return err
	}
	now := s.now()
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		before, err := tx.SetOfflineMaxAge(ctx, d.ID, minutes*60)
		if err != nil {
			return err
		}
		old := strconv.Itoa(DefaultOfflineMinutes)
		if before > 0 {
			old = strconv.Itoa(before / 60)
		}
		return tx.InsertAudit(ctx, p.Audit(newID(), now, "partner.offline_limit", "partner", d.ID,
			model.JSON(map[string]string{"minutes": old}), model.JSON(map[string]string{"minutes": strconv.Itoa(minutes)})))
	})
}

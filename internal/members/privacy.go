package members

import (
	"context"
	"fmt"
	"strings"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// Export is everything alumnipass holds about one member, for a disclosure
// request under APPI. Secrets are never included.
type Export struct {
	Member        *model.Member                `json:"member"`
	Cards         []model.Card                 `json:"cards"`
	GuestPasses   []model.GuestPass            `json:"guest_passes"`
	Verifications []store.HistoryItem          `json:"verifications"`
	Redemptions   []store.PartnerRedemptionRow `json:"redemptions"`
	Audit         []model.AuditEntry           `json:"audit"`
}

// Export gathers a member's data and records that it was disclosed.
func (s *Service) Export(ctx context.Context, p *model.Principal, id string) (*Export, error) {
	d, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	e := &Export{Member: d.Member, Cards: d.Cards}
	if e.GuestPasses, err = s.st.MemberGuestPasses(ctx, id, 10000); err != nil {
		return nil, err
	}
	if e.Verifications, err = s.st.MemberHistory(ctx, id, 100000); err != nil {
		return nil, err
	}
	if e.Redemptions, err = s.st.MemberRedemptions(ctx, id, 100000); err != nil {
		return nil, err
	}
	if e.Audit, err = s.st.ListAudit(ctx, store.AuditFilter{TargetType: "member", TargetID: id, Limit: 10000}); err != nil {
		return nil, err
	}
	if e.GuestPasses == nil {
		e.GuestPasses = []model.GuestPass{}
	}
	if e.Verifications == nil {
		e.Verifications = []store.HistoryItem{}
	}
	if e.Redemptions == nil {
		e.Redemptions = []store.PartnerRedemptionRow{}
	}
	if err := s.st.InsertAudit(ctx, p.Audit(newID(), s.now(), "member.export", "member", id, "", "")); err != nil {
		return nil, err
	}
	return e, nil
}

// Erase removes a member's personal data on request, keeping the opaque
// rows that aggregate reports count. It cannot be undone.
func (s *Service) Erase(ctx context.Context, p *model.Principal, id, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return model.Invalidf("reason", "reason_required", "a reason (the request reference) is required to erase a member")
	}
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	now := s.now()
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.EraseMember(ctx, id, now); err != nil {
			return err
		}
		return tx.InsertAudit(ctx, p.Audit(newID(), now, "member.erase", "member", id, "", model.JSON(map[string]string{"reason": reason})))
	})
	if err != nil {
		return fmt.Errorf("erase member: %w", err)
	}
	return nil
}

package partners

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// CreateManagerToken issues an API token for a partner's own systems (a
// POS vendor, a back office): the rights of the partner manager — venues,
// device keys, pairing codes, perks and the partner's report — on this
// partner only, never HR's routes and never a scan. Shown once; only its
// hash is kept. HR and the partner's own managers may issue one; it is
// revoked like a device key.
func (s *Service) CreateManagerToken(ctx context.Context, p *model.Principal, partnerID, name string) (*IssuedKey, error) {
	name = strings.TrimSpace(name)
	if err := checkText("name", name, 100, true); err != nil {
		return nil, err
	}
	d, err := s.Get(ctx, p, partnerID)
	if err != nil {
		return nil, err
	}
	tok, hash, err := auth.NewToken(auth.PrefixHR)
	if err != nil {
		return nil, err
	}
	now := s.now()
	k := &model.APIKey{ID: uuid.NewString(), Name: name, Prefix: tok[:len(auth.PrefixHR)+6], Hash: hash, Role: model.RolePartnerManager,
		PartnerID: &d.ID, CreatedAt: now}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateAPIKey(ctx, k); err != nil {
			return err
		}
		return tx.InsertAudit(ctx, p.Audit(newID(), now, "partner_token.create", "partner", d.ID, "",
			model.JSON(map[string]string{"key_id": k.ID, "name": name, "prefix": k.Prefix, "role": k.Role})))
	})
	if err != nil {
		return nil, fmt.Errorf("create partner token: %w", err)
	}
	return &IssuedKey{ID: k.ID, Key: tok, Name: name, PartnerID: d.ID}, nil
}

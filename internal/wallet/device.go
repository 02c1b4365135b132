package wallet

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/credential"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// Binding is what a wallet needs to make version 2 codes once its card is
// bound to the phone's key (docs/credential-format.md, section 12): the
// code is CodePrefix + base45(step || ECDSA signature over
// SignaturePrefix || card id || step) + SignedPartV2.
type Binding struct {
	CardID          string `json:"card_id"`
	Format          int    `json:"format"`
	SignedPartV2    string `json:"signed_part_v2"`
	CodePrefix      string `json:"code_prefix"`
	SignaturePrefix string `json:"device_signature_prefix"`
	StepSeconds     int    `json:"step_seconds"`
}

func bindingOf(cardID, signedPart string) *Binding {
	return &Binding{CardID: cardID, Format: 2, SignedPartV2: signedPart, CodePrefix: credential.PrefixV2 + string(credential.KindCard),
		SignaturePrefix: credential.DeviceSignaturePrefix, StepSeconds: int(credential.TOTPPeriod.Seconds())}
}

// Bound reports whether the wallet's card is bound to a device key: then
// only the phone can make its codes, and the server's fallback cannot.
func (w *Wallet) Bound() bool { return w.Device != nil && w.Device.SignedPartV2 != "" }

// Binding returns the wallet's v2 binding, or nil for a version 1 card.
func (w *Wallet) Binding() *Binding {
	if !w.Bound() {
		return nil
	}
	return bindingOf(w.Card.ID, w.Device.SignedPartV2)
}

// BindDevice upgrades the wallet's card to format version 2: the issuer
// signs the card (the same id, window, companions and tier as its version 1
// signed part) together with the phone's P-256 public key, given raw (65
// bytes, as WebCrypto exports it) or compressed. A card is bound once; its
// version 1 codes are refused from then on.
func (s *Service) BindDevice(ctx context.Context, w *Wallet, publicKey []byte) (*Binding, error) {
	if err := usable(w); err != nil {
		return nil, err
	}
	if w.Bound() {
		return nil, model.NewProblem(model.ErrConflict, "device_already_bound", "This card is already bound to a phone. Ask HR to re-issue it to move it to another phone.")
	}
	dk, err := credential.CompressDeviceKey(publicKey)
	if err != nil {
		return nil, model.Invalidf("public_key", "invalid_device_key", "The public key is not a P-256 point (raw 65 bytes or compressed 33, base64url).")
	}
	v1, err := credential.Parse(credential.CardCode(w.Card.SignedPart, "000000"))
	if err != nil {
		return nil, fmt.Errorf("bind device: card %s: %w", w.Card.ID, err)
	}
	keyID, _, priv := s.keys.Signer()
	card := *v1.Card
	card.KeyID = keyID
	signed, err := credential.SignCardV2(priv, credential.CardV2{Card: card, DeviceKey: dk})
	if err != nil {
		return nil, fmt.Errorf("bind device: %w", err)
	}
	now := s.now()
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.BindCardDevice(ctx, w.Card.ID, dk[:], signed); err != nil {
			if errors.Is(err, model.ErrConflict) {
				return model.NewProblem(model.ErrConflict, "device_already_bound", "This card is already bound to a phone.")
			}
			return err
		}
		p := &model.Principal{Kind: "wallet", ID: w.Card.ID, Name: "alumnus", Role: "member"}
		return tx.InsertAudit(ctx, p.Audit(uuid.Must(uuid.NewV7()).String(), now, "card.bind_device", "member", w.Member.ID, "",
			model.JSON(map[string]string{"card_id": w.Card.ID, "format": "2"})))
	})
	if err != nil {
		return nil, fmt.Errorf("bind device: %w", err)
	}
	w.Device = &store.CardDevice{DeviceKey: dk[:], SignedPartV2: signed}
	return bindingOf(w.Card.ID, signed), nil
}

// EnrollDevice enrols like Enroll and binds the card to the phone's key in
// the same request, so the wallet never holds a usable TOTP secret: the
// answer carries no secret and the card's version 2 binding. The key is
// checked before the single-use enrolment token is spent.
func (s *Service) EnrollDevice(ctx context.Context, token string, consent bool, publicKey []byte) (*Enrolment, *Binding, error) {
	if _, err := credential.CompressDeviceKey(publicKey); err != nil {
		return nil, nil, model.Invalidf("device_key", "invalid_device_key", "The device key is not a P-256 point (raw 65 bytes or compressed 33, base64url).")
	}
	e, err := s.Enroll(ctx, token, consent)
	if err != nil {
		return nil, nil, err
	}
	w, err := s.Open(ctx, e.WalletToken)
	if err != nil {
		return nil, nil, err
	}
	b, err := s.BindDevice(ctx, w, publicKey)
	if err != nil {
		return nil, nil, err
	}
	e.TOTPSecret = ""
	return e, b, nil
}

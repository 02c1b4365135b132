package verify

import (
	"context"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// Storer is what this package needs of the database: the methods it
// calls, declared here by their user (ardanlabs' Storer), so that the
// package depends on behaviour rather than on *store.Store, which
// satisfies it. Calling a new store method means adding it here.
type Storer interface {
	CardStates(ctx context.Context, cardIDs []string) ([]store.CardState, error)
	FirstGuestRedemption(ctx context.Context, passID string) (at time.Time, venue string, err error)
	GuestPass(ctx context.Context, id string) (*model.GuestPass, error)
	PartnerPerks(ctx context.Context, partnerID string, activeOnly bool) ([]model.Perk, error)
	PerkUses(ctx context.Context, memberID string, perkIDs, periods []string) ([]store.PerkUse, error)
	SeeStaleOffset(ctx context.Context, cardID string, offsetSeconds int, at time.Time) (*store.WalletClock, error)
	VerificationRedemptions(ctx context.Context, verificationID string) ([]store.RecordedUse, error)
	LogScans(ctx context.Context, rows []store.ScanRecord) (map[string]bool, error)
	CodeUses(ctx context.Context, hashes []string) (map[string]store.CodeUse, error)
	InsertVerifications(ctx context.Context, vs []model.Verification) error
	Venue(ctx context.Context, id string) (*model.Venue, error)
	Events() *store.Events
}

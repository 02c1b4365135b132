package wallet

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
	ActivePerks(ctx context.Context) ([]store.PerkWithPartner, error)
	CancelGuestPass(ctx context.Context, id, memberID string) error
	CardByEnrollToken(ctx context.Context, hash string) (*model.Card, error)
	CardByWalletToken(ctx context.Context, hash string) (*model.Card, error)
	CardDevice(ctx context.Context, cardID string) (*store.CardDevice, error)
	CountGuestPassesSince(ctx context.Context, memberID string, since time.Time) (int, error)
	GuestPass(ctx context.Context, id string) (*model.GuestPass, error)
	InTx(ctx context.Context, fn func(tx *store.Tx) error) error
	Member(ctx context.Context, id string) (*model.Member, error)
	MemberGuestPasses(ctx context.Context, memberID string, limit int) ([]model.GuestPass, error)
	OpenVenues(ctx context.Context) ([]model.Venue, error)
	MemberUses(ctx context.Context, memberID string, limit int) ([]store.MemberUse, error)
	ReportWalletClock(ctx context.Context, cardID string, offsetMS int64, at time.Time) error
}

package partners

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
	OfflineMaxAge(ctx context.Context, partnerID string) (int, error)
	ActiveVenueKeys(ctx context.Context, venueID string) (int, error)
	InTx(ctx context.Context, fn func(tx *store.Tx) error) error
	InsertRedemptionIfStanding(ctx context.Context, r *model.Redemption, s store.Standing) error
	InsertRedemptionsIfStanding(ctx context.Context, rows []store.RedemptionInsert) ([]error, error)
	Partner(ctx context.Context, id string) (*model.Partner, error)
	Member(ctx context.Context, id string) (*model.Member, error)
	Perk(ctx context.Context, id string) (*model.Perk, error)
	PartnerAPIKeys(ctx context.Context, partnerID string) ([]model.APIKey, error)
	PartnerPerks(ctx context.Context, partnerID string, activeOnly bool) ([]model.Perk, error)
	PartnerRedemptions(ctx context.Context, partnerID string, since time.Time, limit int) ([]store.PartnerRedemptionRow, error)
	PartnerVenues(ctx context.Context, partnerID string) ([]model.Venue, error)
	Partners(ctx context.Context) ([]model.Partner, error)
	OnlineRedemptionByIdempotencyKey(ctx context.Context, apiKeyID, key string) (*model.Redemption, string, error)
	RedemptionByIdempotencyKey(ctx context.Context, apiKeyID, key string) (*model.Redemption, error)
	RedemptionFacts(ctx context.Context, apiKeyID, idemKey, verificationID, perkID string) (*store.RedemptionFacts, error)
	RedemptionReport(ctx context.Context, partnerID string, since time.Time) ([]store.ReportRow, error)
	Venue(ctx context.Context, id string) (*model.Venue, error)
}

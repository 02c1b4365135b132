package members

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
	ActiveMembersByEmail(ctx context.Context, email string) ([]model.Member, error)
	CreateRecoveryToken(ctx context.Context, hash, memberID string, now, expires time.Time) error
	TakeRecoveryToken(ctx context.Context, hash string, now time.Time) (string, error)
	RecoveryTokenLive(ctx context.Context, hash string, now time.Time) (bool, error)
	CardByEnrollToken(ctx context.Context, hash string) (*model.Card, error)
	CountMembers(ctx context.Context) (map[string]int, error)
	DropImportUpload(ctx context.Context, hash, ownerID string) error
	InTx(ctx context.Context, fn func(tx *store.Tx) error) error
	InsertAudit(ctx context.Context, es ...model.AuditEntry) error
	KeepImportUpload(ctx context.Context, u *store.ImportUpload) error
	KeptImportUpload(ctx context.Context, hash, ownerID string, now time.Time) ([]byte, error)
	ListAudit(ctx context.Context, f store.AuditFilter) ([]model.AuditEntry, error)
	ListMembers(ctx context.Context, f store.MemberFilter) ([]model.Member, error)
	Member(ctx context.Context, id string) (*model.Member, error)
	MemberCards(ctx context.Context, memberID string) ([]model.Card, error)
	MembersByID(ctx context.Context, ids []string) (map[string]model.Member, error)
	MemberGuestPasses(ctx context.Context, memberID string, limit int) ([]model.GuestPass, error)
	MemberHistory(ctx context.Context, memberID string, limit int) ([]store.HistoryItem, error)
	MemberRedemptions(ctx context.Context, memberID string, limit int) ([]store.PartnerRedemptionRow, error)
	MemberTiers(ctx context.Context) ([]string, error)
}

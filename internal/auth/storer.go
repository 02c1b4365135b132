package auth

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
	APIKeyByHash(ctx context.Context, hash string) (*model.APIKey, error)
	Admin(ctx context.Context, id string) (*model.Admin, error)
	AdminByEmail(ctx context.Context, email string) (*model.Admin, error)
	CreateAdmin(ctx context.Context, a *model.Admin) error
	CreateSession(ctx context.Context, s *store.Session) error
	DeleteSession(ctx context.Context, hash string) error
	InTx(ctx context.Context, fn func(tx *store.Tx) error) error
	InsertAudit(ctx context.Context, es ...model.AuditEntry) error
	ListAdmins(ctx context.Context) ([]model.Admin, error)
	Partner(ctx context.Context, id string) (*model.Partner, error)
	PurgeSignInThrottle(ctx context.Context, before time.Time) error
	SessionByHash(ctx context.Context, hash string, now time.Time) (*store.Session, error)
	SetSessionPendingTOTP(ctx context.Context, hash string, enc, prev []byte) (bool, error)
	TouchAPIKeys(ctx context.Context, used map[string]time.Time) error
	Events() *store.Events
}

// Package auth knows who is calling: hashed API tokens (HR automation and
// partner devices), console users with a password and a mandatory TOTP
// second factor, and their sessions. Secrets are shown once and stored as
// SHA-256 hashes; high-entropy tokens need no slow hash, and lookup by hash
// means no comparison against a secret ever happens in Go.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// Token prefixes say what a secret is when it turns up in a log or a leak
// scanner; they carry no authority.
const (
	PrefixHR     = "aph_"
	PrefixDevice = "apd_"
	PrefixWallet = "apw_"
	PrefixEnroll = "ape_"
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewToken returns a random token with a prefix and its storage hash.
func NewToken(prefix string) (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("random token: %w", err)
	}
	token = prefix + strings.ToLower(b32.EncodeToString(b))
	return token, HashToken(token), nil
}

// HashToken is how a presented token is looked up.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Service authenticates bearer tokens, with a cache of API keys that is
// dropped on every key change any instance announces.
type Service struct {
	st     Storer
	now    func() time.Time
	mu     sync.RWMutex
	cache  map[string]*model.APIKey // by hash
	gen    uint64                   // bumped by every change notice, under mu
	events *store.Events
	usedMu sync.Mutex
	used   map[string]time.Time
}

// New makes the service and subscribes to key changes.
func New(st Storer, now func() time.Time) *Service {
	s := &Service{st: st, now: now, cache: map[string]*model.APIKey{}, events: st.Events(), used: map[string]time.Time{}}
	st.Events().Subscribe(func(ev store.Event) {
		switch ev.Kind {
		case store.EventAPIKey, store.EventPartner, store.EventReset:
			s.mu.Lock()
			s.cache = map[string]*model.APIKey{}
			s.gen++
			s.mu.Unlock()
		}
	})
	return s
}

// CreateHRToken stores a new HR API token and returns it (shown once).
func (s *Service) CreateHRToken(ctx context.Context, name, role string) (string, error) {
	if role != model.RoleHR && role != model.RoleAdmin && role != model.RoleViewer {
		return "", model.Invalidf("role", "invalid_role", "role must be hr, admin or viewer")
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", model.Invalidf("name", "invalid_name", "name must be 1 to 100 characters")
	}
	tok, hash, err := NewToken(PrefixHR)
	if err != nil {
		return "", err
	}
	k := &model.APIKey{ID: uuid.NewString(), Name: name, Prefix: tok[:len(PrefixHR)+6], Hash: hash, Role: role, CreatedAt: s.now()}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateAPIKey(ctx, k); err != nil {
			return err
		}
		p := &model.Principal{Kind: "cli", ID: "cli", Name: "alumnipass token create", Role: model.RoleAdmin}
		return tx.InsertAudit(ctx, p.Audit(uuid.Must(uuid.NewV7()).String(), s.now(), "token.create", "api_key", k.ID, "", model.JSON(map[string]string{"name": name, "role": role})))
	})
	if err != nil {
		return "", fmt.Errorf("create hr token: %w", err)
	}
	return tok, nil
}

// Bearer resolves an API key (HR token or device key) to a principal.
func (s *Service) Bearer(ctx context.Context, token string) (*model.Principal, error) {
	if !strings.HasPrefix(token, PrefixHR) && !strings.HasPrefix(token, PrefixDevice) {
		return nil, model.ErrUnauthorized
	}
	hash := HashToken(token)
	healthy := s.events.Healthy()
	s.mu.RLock()
	k, ok := s.cache[hash]
	gen := s.gen
	s.mu.RUnlock()
	if !ok || !healthy {
		var err error
		k, err = s.st.APIKeyByHash(ctx, hash)
		if errors.Is(err, model.ErrNotFound) {
			return nil, model.ErrUnauthorized
		}
		if err != nil {
			return nil, fmt.Errorf("api key: %w", err)
		}
		if healthy {
			s.mu.Lock()
			if s.gen == gen { // no change was announced while we read
				s.cache[hash] = k
			}
			s.mu.Unlock()
		}
	}
	if k.RevokedAt != nil {
		return nil, model.NewProblem(model.ErrUnauthorized, "key_revoked", "This key has been revoked. Pair the device again or ask for a new key.")
	}
	s.markUsed(k.ID)
	p := &model.Principal{Kind: "token", ID: k.ID, Name: k.Name, Role: k.Role}
	if k.PartnerID != nil {
		p.PartnerID = *k.PartnerID
	}
	if k.VenueID != nil {
		p.VenueID = *k.VenueID
		p.Kind = "device"
	}
	return p, nil
}

func (s *Service) markUsed(id string) {
	s.usedMu.Lock()
	s.used[id] = s.now()
	s.usedMu.Unlock()
}

// FlushUsage writes last-used times gathered since the last flush; cmd runs
// it every minute and at shutdown, so the hot path never writes for it.
func (s *Service) FlushUsage(ctx context.Context) error {
	s.usedMu.Lock()
	used := s.used
	s.used = map[string]time.Time{}
	s.usedMu.Unlock()
	if len(used) == 0 {
		return nil
	}
	return s.st.TouchAPIKeys(ctx, used)
}

// Package statusfeed builds the signed status list the server publishes at
// /.well-known/alumnipass/status-list from what the store records, signed
// with the issuer's current key. The format is internal/statuslist's.
package statusfeed

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/statuslist"
	"github.com/alumnipass/alumnipass/internal/store"
)

// Storer is what the feed reads.
type Storer interface {
	StatusListSeq(ctx context.Context) (int64, error)
	StatusSnapshot(ctx context.Context, now time.Time) ([]store.StatusEntry, error)
	StatusChangesSince(ctx context.Context, seq int64, now time.Time) ([]store.StatusEntry, error)
}

// Signer gives the issuer's active key (internal/keyring).
type Signer interface {
	Signer() ([8]byte, string, ed25519.PrivateKey)
}

// snapshotReuse is how long the ids of a full list are reused while the
// sequence number stays the same: only expiries can change them then, and
// a verifier checks expiry itself. Each answer is still signed afresh with
// the time it is sent, which is what staleness is measured from.
const snapshotReuse = 5 * time.Minute

// Feed builds status lists. Full lists of a large issuer take a while to
// read, so the last one's ids are kept (one list; bounded by the issuer).
type Feed struct {
	st   Storer
	keys Signer
	now  func() time.Time

	mu      sync.Mutex
	cached  *statuslist.List // ids of the last full list, without header
	cacheAt time.Time
}

// New returns a feed over a store and the issuer's keys.
func New(st Storer, keys Signer, now func() time.Time) *Feed {
	if now == nil {
		now = time.Now
	}
	return &Feed{st: st, keys: keys, now: now}
}

// Full returns the signed full list: every listed card and guest pass that
// has not expired.
func (f *Feed) Full(ctx context.Context) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now().UTC()
	seq, err := f.st.StatusListSeq(ctx)
	if err != nil {
		return nil, fmt.Errorf("status list: %w", err)
	}
	fresh := f.cached != nil && now.Sub(f.cacheAt) <= snapshotReuse && !now.Before(f.cacheAt)
	if fresh && f.cached.Seq != uint64(seq) {
		// A few changes since the cached list: apply them rather than read
		// every listed id again (seconds at 1,000,000).
		es, err := f.st.StatusChangesSince(ctx, int64(f.cached.Seq), now)
		if err != nil {
			return nil, fmt.Errorf("status list: %w", err)
		}
		d := &statuslist.List{Delta: true, Since: f.cached.Seq, Seq: uint64(seq)}
		if err := fill(d, es); err != nil {
			return nil, err
		}
		if f.cached, err = f.cached.Apply(d); err != nil {
			return nil, fmt.Errorf("status list: %w", err)
		}
	}
	if !fresh {
		es, err := f.st.StatusSnapshot(ctx, now)
		if err != nil {
			return nil, fmt.Errorf("status list: %w", err)
		}
		l := &statuslist.List{Seq: uint64(seq)}
		if err := fill(l, es); err != nil {
			return nil, err
		}
		f.cached, f.cacheAt = l, now
	}
	l := *f.cached
	return f.sign(&l, now)
}

// Delta returns the signed changes after since; since beyond the current
// sequence number is ErrInvalid (the client holds a list from elsewhere).
func (f *Feed) Delta(ctx context.Context, since int64) ([]byte, error) {
	now := f.now().UTC()
	seq, err := f.st.StatusListSeq(ctx)
	if err != nil {
		return nil, fmt.Errorf("status list: %w", err)
	}
	if since < 0 || since > seq {
		return nil, fmt.Errorf("status list since %d: the list is at %d: %w", since, seq, model.ErrInvalid)
	}
	es, err := f.st.StatusChangesSince(ctx, since, now)
	if err != nil {
		return nil, fmt.Errorf("status list: %w", err)
	}
	l := &statuslist.List{Delta: true, Seq: uint64(seq), Since: uint64(since)}
	if err := fill(l, es); err != nil {
		return nil, err
	}
	return f.sign(l, now)
}

// sign signs l with the active key at now.
func (f *Feed) sign(l *statuslist.List, now time.Time) ([]byte, error) {
	id, _, priv := f.keys.Signer()
	l.KeyID, l.IssuedAt = id, now.Truncate(time.Second)
	b, err := statuslist.Sign(priv, l)
	if err != nil {
		return nil, fmt.Errorf("status list: %w", err)
	}
	return b, nil
}

// fill sorts the entries into the sections of l. Sign sorts each section,
// so they are sorted here once, before the list is cached.
func fill(l *statuslist.List, es []store.StatusEntry) error {
	for _, e := range es {
		u, err := uuid.Parse(e.SubjectID)
		if err != nil {
			return fmt.Errorf("status list: subject %q: %w", e.SubjectID, err)
		}
		id := [16]byte(u)
		switch e.Status {
		case "revoked":
			l.Revoked = append(l.Revoked, id)
		case "suspended":
			l.Suspended = append(l.Suspended, id)
		case "cancelled":
			l.Cancelled = append(l.Cancelled, id)
		default:
			l.Cleared = append(l.Cleared, id)
		}
	}
	if !l.Delta {
		l.Cleared = nil
	}
	return nil
}

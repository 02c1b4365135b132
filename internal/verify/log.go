package verify

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// Log writes verifications with group commit: concurrent scans queue their
// record, a worker writes everything queued in one transaction (one
// multi-row claim of first uses, one multi-row insert), and each scan is
// answered only after its record is committed. So an answer is never given
// for a scan that is not on record, and a crash loses no answered scan; the
// cost is one commit per batch instead of one per scan.
type Log struct {
	st       *store.Store
	queue    chan *pending
	maxBatch int
	wg       sync.WaitGroup
	mu       sync.RWMutex
	closed   bool
}

type entry struct {
	rec     model.Verification
	claim   *store.CodeUse
	expires time.Time
}

type written struct {
	first *store.CodeUse // the earlier use of the same code, if any
}

type pending struct {
	e    entry
	done chan outcome
}

type outcome struct {
	w   written
	err error
}

// NewLog starts workers writers; maxBatch bounds one transaction.
func NewLog(st *store.Store, workers, maxBatch int) *Log {
	l := &Log{st: st, queue: make(chan *pending, 4*maxBatch*workers), maxBatch: maxBatch}
	for range workers {
		l.wg.Add(1)
		go l.worker()
	}
	return l
}

// Write queues a record and waits until it is committed.
func (l *Log) Write(ctx context.Context, e entry) (written, error) {
	p := &pending{e: e, done: make(chan outcome, 1)}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return written{}, fmt.Errorf("verification log closed: %w", model.ErrUnavailable)
	}
	select {
	case l.queue <- p:
	case <-ctx.Done():
		l.mu.RUnlock()
		return written{}, fmt.Errorf("queue verification: %w", model.ErrUnavailable)
	}
	l.mu.RUnlock()
	// Once queued, the record is written even if the caller goes away.
	o := <-p.done
	return o.w, o.err
}

// Close stops taking records, writes what is queued and waits.
func (l *Log) Close() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.queue)
	}
	l.mu.Unlock()
	l.wg.Wait()
}

func (l *Log) worker() {
	defer l.wg.Done()
	batch := make([]*pending, 0, l.maxBatch)
	for p := range l.queue {
		batch = append(batch[:0], p)
	drain:
		for len(batch) < l.maxBatch {
			select {
			case q, ok := <-l.queue:
				if !ok {
					break drain
				}
				batch = append(batch, q)
			default:
				break drain
			}
		}
		l.flush(batch)
	}
}

func (l *Log) flush(batch []*pending) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	results := make([]written, len(batch))
	err := l.st.InTx(ctx, func(tx *store.Tx) error {
		return writeBatch(ctx, tx, batch, results)
	})
	if err != nil && !errors.Is(err, model.ErrUnavailable) {
		err = fmt.Errorf("%w: %v", model.ErrUnavailable, err)
	}
	for i, p := range batch {
		p.done <- outcome{w: results[i], err: err}
	}
}

func writeBatch(ctx context.Context, tx *store.Tx, batch []*pending, results []written) error {
	var uses []store.CodeUse
	var expires []time.Time
	firstInBatch := map[string]int{}
	for i, p := range batch {
		if p.e.claim == nil {
			continue
		}
		if _, dup := firstInBatch[p.e.claim.CodeHash]; dup {
			continue
		}
		firstInBatch[p.e.claim.CodeHash] = i
		uses = append(uses, *p.e.claim)
		expires = append(expires, p.e.expires)
	}
	// A fixed order of keys keeps two concurrent batches from deadlocking.
	sort.Sort(byHash{uses, expires})
	claimed, err := tx.ClaimCodes(ctx, uses, expires)
	if err != nil {
		return err
	}
	var taken []string
	for h := range firstInBatch {
		if !claimed[h] {
			taken = append(taken, h)
		}
	}
	earlier, err := tx.CodeUses(ctx, taken)
	if err != nil {
		return err
	}
	recs := make([]model.Verification, len(batch))
	for i, p := range batch {
		recs[i] = p.e.rec
		if p.e.claim == nil {
			continue
		}
		h := p.e.claim.CodeHash
		var first *store.CodeUse
		if u, ok := earlier[h]; ok {
			first = &u
		} else if j := firstInBatch[h]; j != i {
			u := *batch[j].e.claim
			if u.VenueID != p.e.claim.VenueID {
				if v, err := tx.Venue(ctx, u.VenueID); err == nil {
					u.VenueName = v.Name
				}
			}
			first = &u
		}
		if first == nil {
			continue
		}
		results[i].first = first
		if first.VenueID == p.e.claim.VenueID {
			recs[i].Detail = "repeat of " + first.VerificationID
		} else {
			recs[i].Result = model.ResultReplayed
			recs[i].Detail = "first used " + first.VerificationID
		}
	}
	return tx.InsertVerifications(ctx, recs)
}

type byHash struct {
	uses    []store.CodeUse
	expires []time.Time
}

func (b byHash) Len() int           { return len(b.uses) }
func (b byHash) Less(i, j int) bool { return b.uses[i].CodeHash < b.uses[j].CodeHash }
func (b byHash) Swap(i, j int) {
	b.uses[i], b.uses[j] = b.uses[j], b.uses[i]
	b.expires[i], b.expires[j] = b.expires[j], b.expires[i]
}

package verify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// Log writes verifications with group commit: concurrent scans queue their
// record, a writer writes everything queued at once (store.LogScans: the
// claims of first uses and the log rows in one statement on PostgreSQL, one
// transaction on SQLite), and each scan is answered only after its record
// is committed. So an answer is never given for a scan that is not on
// record, and a crash loses no answered scan; the cost is one commit per
// batch instead of one per scan. The queue is bounded; Close writes what is
// queued before it returns.
type Log struct {
	st       Storer
	queue    chan *pending
	maxBatch int
	wg       sync.WaitGroup
	mu       sync.RWMutex
	closed   bool

	// With several writers, a writer whose batch is small waits while
	// another batch is in flight (for more scans, or for that flush to
	// end): two small commits cost PostgreSQL more than one large one, and
	// a second writer is only worth it when scans pile up meanwhile.
	inflight   atomic.Int32
	flushed    chan struct{} // a token after every flush
	overlapMin int
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

// NewLog starts workers writers; maxBatch bounds one transaction. A writer
// starts a batch while another is in flight only once it holds overlapMin
// scans.
func NewLog(st Storer, workers, maxBatch, overlapMin int) *Log {
	l := &Log{st: st, queue: make(chan *pending, 4*maxBatch*workers), maxBatch: maxBatch,
		flushed: make(chan struct{}, 1), overlapMin: min(overlapMin, maxBatch)}
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
		batch = l.drain(append(batch[:0], p))
		open := true
		for open && len(batch) < l.overlapMin && l.inflight.Load() > 0 {
			select {
			case q, ok := <-l.queue:
				if !ok {
					open = false
					break
				}
				batch = l.drain(append(batch, q))
			case <-l.flushed:
			}
		}
		l.inflight.Add(1)
		l.flush(batch)
		l.inflight.Add(-1)
		select {
		case l.flushed <- struct{}{}:
		default:
		}
	}
}

// drain adds what is queued now, up to maxBatch, without waiting.
func (l *Log) drain(batch []*pending) []*pending { return drainQueue(l.queue, batch, l.maxBatch) }

// drainQueue adds to batch what queue holds now, up to max in all, without
// waiting (the batching of the log's writers and of the card reads).
func drainQueue[T any](queue <-chan T, batch []T, max int) []T {
	for len(batch) < max {
		select {
		case q, ok := <-queue:
			if !ok {
				return batch
			}
			batch = append(batch, q)
		default:
			return batch
		}
	}
	return batch
}

func (l *Log) flush(batch []*pending) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	results := make([]written, len(batch))
	err := writeBatch(ctx, l.st, batch, results)
	if err != nil && !errors.Is(err, model.ErrUnavailable) {
		err = fmt.Errorf("%w: %v", model.ErrUnavailable, err)
	}
	for i, p := range batch {
		p.done <- outcome{w: results[i], err: err}
	}
}

// writeBatch writes a batch in one statement (store.LogScans) in the common
// case. The first valid scan of each code in the batch claims it; later
// scans of the same code in the batch are decided against that first one
// and written with it. Only when a code was already used before the batch
// does a second statement run, which reads the earlier uses and writes
// those scans as repeats or replays. If it fails, the batch is answered 503
// though its first part is on record: an answer is never given for a scan
// that is not, and a retry of such a code is a repeat, not a new use.
func writeBatch(ctx context.Context, st Storer, batch []*pending, results []written) error {
	rows := make([]store.ScanRecord, len(batch))
	leader := make(map[string]int, len(batch))
	venueNames := map[string]string{}
	for i, p := range batch {
		rows[i].Verification = p.e.rec
		if p.e.claim == nil {
			continue
		}
		h := p.e.claim.CodeHash
		rows[i].ClaimHash = h
		j, seen := leader[h]
		if !seen {
			leader[h] = i
			rows[i].ClaimExpires = &batch[i].e.expires
			continue
		}
		first := *batch[j].e.claim
		if first.VenueID != p.e.claim.VenueID {
			name, ok := venueNames[first.VenueID]
			if !ok {
				if v, err := st.Venue(ctx, first.VenueID); err == nil {
					name = v.Name
				}
				venueNames[first.VenueID] = name
			}
			first.VenueName = name
		}
		results[i].first = &first
		against(&rows[i].Verification, &first)
	}
	claimed, err := st.LogScans(ctx, rows)
	if err != nil {
		return err
	}
	var taken []string
	for h := range leader {
		if !claimed[h] {
			taken = append(taken, h)
		}
	}
	if len(taken) == 0 {
		return nil
	}
	earlier, err := st.CodeUses(ctx, taken)
	if err != nil {
		return err
	}
	var late []model.Verification
	for i, p := range batch {
		if p.e.claim == nil || claimed[p.e.claim.CodeHash] {
			continue
		}
		first, ok := earlier[p.e.claim.CodeHash]
		if !ok {
			// Claimed by someone, yet gone (purged in between): unsure,
			// so no answer rather than a guess.
			return fmt.Errorf("first use of code %s not found: %w", p.e.claim.CodeHash, model.ErrUnavailable)
		}
		rec := p.e.rec
		against(&rec, &first)
		results[i].first = &first
		late = append(late, rec)
	}
	return st.InsertVerifications(ctx, late)
}

// against records a scan of a code that was used first by another scan: a
// repeat at the same venue (the counter asking again), a replay elsewhere.
func against(rec *model.Verification, first *store.CodeUse) {
	if first.VenueID == rec.VenueID {
		rec.Detail = "repeat of " + first.VerificationID
		return
	}
	rec.Result = model.ResultReplayed
	rec.Detail = "first used " + first.VerificationID
}

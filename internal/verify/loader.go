package verify

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// cardLoader reads the cards that concurrent scans miss in the cache
// together: a scan's miss is queued, a reader takes every miss queued at
// that moment and reads them in one statement (store.CardStates), and each
// scan gets its own card. When scans are few a batch is one card and costs
// what a single read did; when 64 counters scan cards nobody scanned
// lately, PostgreSQL plans and answers one statement per batch instead of
// one per scan, which is most of what a cold scan cost it (issue 17).
// The cache's generation rule is unchanged: the caller takes the
// generation before queueing, so a notice that arrives while the batch is
// read keeps its result out of the cache.
type cardLoader struct {
	st       Storer
	queue    chan *cardRequest
	maxBatch int
	timeout  time.Duration
	wg       sync.WaitGroup
	mu       sync.RWMutex
	closed   bool
}

type cardRequest struct {
	id   string
	done chan cardResult
}

type cardResult struct {
	state *store.CardState
	err   error
}

// newCardLoader starts readers goroutines reading up to maxBatch cards at
// a time, each read bounded by timeout.
func newCardLoader(st Storer, readers, maxBatch int, timeout time.Duration) *cardLoader {
	l := &cardLoader{st: st, queue: make(chan *cardRequest, readers*maxBatch*2), maxBatch: maxBatch, timeout: timeout}
	for range readers {
		l.wg.Add(1)
		go l.reader()
	}
	return l
}

// load returns the card id and its member's state, or model.ErrNotFound.
func (l *cardLoader) load(ctx context.Context, id string) (*store.CardState, error) {
	r := &cardRequest{id: id, done: make(chan cardResult, 1)}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return nil, fmt.Errorf("card loader closed: %w", model.ErrUnavailable)
	}
	select {
	case l.queue <- r:
	case <-ctx.Done():
		l.mu.RUnlock()
		return nil, fmt.Errorf("queue card read: %w", model.ErrUnavailable)
	}
	l.mu.RUnlock()
	select {
	case res := <-r.done:
		return res.state, res.err
	case <-ctx.Done():
		return nil, fmt.Errorf("card read: %w", model.ErrUnavailable)
	}
}

// close stops taking requests and waits for the readers, which answer
// what is queued.
func (l *cardLoader) close() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.queue)
	}
	l.mu.Unlock()
	l.wg.Wait()
}

func (l *cardLoader) reader() {
	defer l.wg.Done()
	batch := make([]*cardRequest, 0, l.maxBatch)
	for r := range l.queue {
		batch = drainQueue(l.queue, append(batch[:0], r), l.maxBatch)
		l.read(batch)
	}
}

// read answers a batch: each request its card, ErrNotFound for a card the
// database does not have, the read's error to all when it failed.
func (l *cardLoader) read(batch []*cardRequest) {
	ids := make([]string, 0, len(batch))
	seen := make(map[string]bool, len(batch))
	for _, r := range batch {
		if !seen[r.id] {
			seen[r.id] = true
			ids = append(ids, r.id)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	states, err := l.st.CardStates(ctx, ids)
	cancel()
	byID := make(map[string]*store.CardState, len(states))
	for i := range states {
		byID[states[i].CardID] = &states[i]
	}
	for _, r := range batch {
		switch st, ok := byID[r.id]; {
		case err != nil:
			r.done <- cardResult{err: fmt.Errorf("card state: %w", err)}
		case !ok:
			r.done <- cardResult{err: fmt.Errorf("card state: %w", model.ErrNotFound)}
		default:
			c := *st // each scan its own copy: the cache keeps it
			r.done <- cardResult{state: &c}
		}
	}
}

package verify

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// gatedStore counts the batch reads and holds the first one until open is
// closed, so that the scans behind it queue up.
type gatedStore struct {
	*store.Store
	open  chan struct{}
	fail  error
	mu    sync.Mutex
	sizes []int
}

func (g *gatedStore) CardStates(ctx context.Context, ids []string) ([]store.CardState, error) {
	g.mu.Lock()
	first := len(g.sizes) == 0
	g.sizes = append(g.sizes, len(ids))
	g.mu.Unlock()
	if first {
		<-g.open
	}
	if g.fail != nil {
		return nil, g.fail
	}
	return g.Store.CardStates(ctx, ids)
}

// TestCardLoaderBatchesMisses: cache misses that arrive while a read is in
// flight are read together in one statement, each scan gets its own card
// (a card asked twice, both times), an unknown card is not found, and a
// failed read fails every scan of its batch as unavailable, never as a
// card.
func TestCardLoaderBatchesMisses(t *testing.T) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			r := newRig(t, dialect, 30)
			g := &gatedStore{Store: r.st, open: make(chan struct{})}
			l := newCardLoader(g, 1, 256, 5*time.Second)
			defer l.close()
			ctx := context.Background()

			type got struct {
				want string
				st   *store.CardState
				err  error
			}
			asks := []string{r.cards[0].id} // the first read, held open
			for _, c := range r.cards[1:] {
				asks = append(asks, c.id)
			}
			asks = append(asks, r.cards[5].id, "no-such-card")
			results := make([]got, len(asks))
			var wg sync.WaitGroup
			start := func(i int) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					st, err := l.load(ctx, asks[i])
					results[i] = got{want: asks[i], st: st, err: err}
				}()
			}
			start(0)
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
				g.mu.Lock()
				n := len(g.sizes)
				g.mu.Unlock()
				if n == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the first read never started")
				}
			}
			for i := 1; i < len(asks); i++ {
				start(i)
			}
			for deadline := time.Now().Add(5 * time.Second); len(l.queue) < len(asks)-1; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d scans queued", len(l.queue), len(asks)-1)
				}
			}
			close(g.open)
			wg.Wait()

			if len(g.sizes) != 2 || g.sizes[0] != 1 || g.sizes[1] != len(r.cards) {
				t.Fatalf("reads of %v cards; want one of 1 then one of %d (30 misses, one asked twice and one unknown, read together)", g.sizes, len(r.cards))
			}
			members := map[string]string{}
			for _, c := range r.cards {
				members[c.id] = c.memberID
			}
			for _, res := range results {
				if res.want == "no-such-card" {
					if !errors.Is(res.err, model.ErrNotFound) {
						t.Fatalf("unknown card: %v, %+v", res.err, res.st)
					}
					continue
				}
				if res.err != nil || res.st == nil || res.st.CardID != res.want || res.st.MemberID != members[res.want] ||
					res.st.CardStatus != model.CardActive || len(res.st.SecretEnc) == 0 {
					t.Fatalf("card %s: %+v, %v", res.want, res.st, res.err)
				}
			}
			if results[5].st == results[len(asks)-2].st {
				t.Fatal("two scans share one card value; the cache keeps each, so each needs its own")
			}

			broken := &gatedStore{Store: r.st, open: make(chan struct{}), fail: errors.New("connection refused")}
			close(broken.open)
			bl := newCardLoader(broken, 1, 256, time.Second)
			if _, err := bl.load(ctx, r.cards[1].id); err == nil || errors.Is(err, model.ErrNotFound) {
				t.Fatalf("failed read answered %v; want the read's error, not a card or not-found", err)
			}
			bl.close()
			if _, err := bl.load(ctx, r.cards[1].id); !errors.Is(err, model.ErrUnavailable) {
				t.Fatalf("closed loader: %v, want unavailable", err)
			}
		})
	}
}

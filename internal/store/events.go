package store

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"
)

// eventChannel is the PostgreSQL NOTIFY channel of alumnipass.
const eventChannel = "alumnipass_events"

// Event kinds published on changes that caches must learn about at once.
const (
	EventMember = "member" // a member's status or tier changed
	EventCard   = "card"   // a card was issued, revoked or enrolled
	EventKey    = "key"    // signing keys or API keys changed
	EventReset  = "reset"  // the feed was interrupted: drop every cache
)

// Event is one change notice.
type Event struct {
	Kind string
	ID   string
}

// Events delivers change notices to subscribers in this process. On
// PostgreSQL they travel through LISTEN/NOTIFY, so every instance hears
// every change; on SQLite (one process) they are delivered in-process.
type Events struct {
	mu       sync.RWMutex
	subs     []func(Event)
	listener *pq.Listener
	healthy  atomic.Bool
	done     chan struct{}
	once     sync.Once
}

func newEvents(s *Store) *Events {
	e := &Events{done: make(chan struct{})}
	e.healthy.Store(s.dialect == SQLite)
	return e
}

// Listen starts the PostgreSQL listener; on SQLite it does nothing.
func (s *Store) Listen(ctx context.Context, log *slog.Logger) error {
	if s.dialect != Postgres {
		return nil
	}
	e := s.events
	e.listener = pq.NewListener(s.dsn, 100*time.Millisecond, 2*time.Second, func(ev pq.ListenerEventType, err error) {
		switch ev {
		case pq.ListenerEventConnected:
			e.healthy.Store(true)
		case pq.ListenerEventReconnected:
			e.healthy.Store(true)
			e.dispatch(Event{Kind: EventReset})
		case pq.ListenerEventDisconnected, pq.ListenerEventConnectionAttemptFailed:
			if e.healthy.Swap(false) {
				log.Warn("change feed disconnected; caches bypassed until it returns", "err", err)
			}
			e.dispatch(Event{Kind: EventReset})
		}
	})
	if err := e.listener.Listen(eventChannel); err != nil {
		// The database may be down at start; the listener keeps trying.
		log.Warn("change feed not connected yet", "err", err)
	}
	go e.loop()
	return nil
}

func (e *Events) loop() {
	for {
		select {
		case <-e.done:
			return
		case n, ok := <-e.listener.Notify:
			if !ok {
				return
			}
			if n == nil { // reconnected; reset already dispatched
				continue
			}
			kind, id, _ := strings.Cut(n.Extra, ":")
			e.dispatch(Event{Kind: kind, ID: id})
		case <-time.After(30 * time.Second):
			go func() { _ = e.listener.Ping() }()
		}
	}
}

// Healthy is false while the PostgreSQL feed is disconnected: a cache must
// not be trusted then, since a revocation could be missed.
func (e *Events) Healthy() bool { return e.healthy.Load() }

// Subscribe adds a function called for every event (from one goroutine).
func (e *Events) Subscribe(fn func(Event)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.subs = append(e.subs, fn)
}

func (e *Events) dispatch(ev Event) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, fn := range e.subs {
		fn(ev)
	}
}

func (e *Events) close() {
	e.once.Do(func() {
		close(e.done)
		if e.listener != nil {
			_ = e.listener.Close()
		}
	})
}

// publish announces a change. PostgreSQL delivers it to every listener
// when the surrounding transaction commits; in this process it is
// dispatched by InTx after the commit, or at once outside a transaction.
func (c *Conn) publish(ctx context.Context, kind, id string) error {
	if c.s.dialect == Postgres {
		if _, err := c.x.ExecContext(ctx, "SELECT pg_notify($1, $2)", eventChannel, kind+":"+id); err != nil {
			return fmt.Errorf("notify: %w", mapErr(err))
		}
		// This instance also hears it at once after commit (read your own
		// writes); the NOTIFY that follows only invalidates again.
	}
	if c.tx != nil {
		c.tx.pending = append(c.tx.pending, Event{Kind: kind, ID: id})
		return nil
	}
	c.s.events.dispatch(Event{Kind: kind, ID: id})
	return nil
}

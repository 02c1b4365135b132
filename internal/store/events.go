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
// Every store method that changes something a verification or a
// redemption reads publishes one of these, in the same transaction, so no
// path (API, console, import, CLI) can forget it.
const (
	EventMember     = "member"      // one member's status, tier, names or locale; ID is the member
	EventMembers    = "members"     // many members at once (a CSV import); no ID
	EventCard       = "card"        // a card was issued, revoked or enrolled; ID is the card
	EventSigningKey = "signing_key" // the issuer's signing keys changed; ID is the kid
	EventAPIKey     = "api_key"     // a device or HR key was revoked; ID is the key
	EventPerk       = "perk"        // a partner's perks changed; ID is the partner
	EventPartner    = "partner"     // a partner or one of its venues changed; ID is the partner
	EventThrottle   = "throttle"    // a key was blocked by a shared rate limit; ID is "<unix ms until> <key>" (ThrottleNotice)
	EventReset      = "reset"       // the feed was interrupted or cannot say what changed: drop every cache
)

// sqliteWatchEvery is how often a server on SQLite looks for commits made
// by another process (the CLI): well inside the 1-second propagation target.
const sqliteWatchEvery = 200 * time.Millisecond

// Event is one change notice.
type Event struct {
	Kind string
	ID   string
}

// Events delivers change notices to subscribers in this process. On
// PostgreSQL they travel through LISTEN/NOTIFY, so every instance hears
// every change. On SQLite, changes made by this process are delivered
// in-process and commits by any other process (the CLI beside a running
// server) are noticed through PRAGMA data_version, which drops every cache.
type Events struct {
	mu       sync.RWMutex
	subs     []func(Event)
	listener *pq.Listener
	healthy  atomic.Bool
	done     chan struct{}
	once     sync.Once
	wg       sync.WaitGroup
}

func newEvents(s *Store) *Events {
	e := &Events{done: make(chan struct{})}
	e.healthy.Store(!s.dialect.notify)
	return e
}

// Listen starts the change feed of a long-running process: the PostgreSQL
// listener, or on SQLite the watcher of other processes' commits. One-shot
// commands (the CLI) do not call it: they only publish.
func (s *Store) Listen(ctx context.Context, log *slog.Logger) error {
	if !s.dialect.notify {
		return s.watchSQLite(ctx, log)
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
	e.wg.Add(1)
	go e.loop()
	return nil
}

func (e *Events) loop() {
	defer e.wg.Done()
	ping := time.NewTicker(30 * time.Second)
	defer ping.Stop()
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
		case <-ping.C:
			go func() { _ = e.listener.Ping() }()
		}
	}
}

// watchSQLite polls PRAGMA data_version, which changes on this connection
// only when another connection — in practice another process, since the
// server keeps one connection — has committed. Such a commit may have
// changed anything, so every cache is dropped. While the poll fails the
// feed is unhealthy and caches are bypassed.
func (s *Store) watchSQLite(ctx context.Context, log *slog.Logger) error {
	e := s.events
	last, err := s.dataVersion(ctx)
	if err != nil {
		return fmt.Errorf("watch sqlite: %w", err)
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		t := time.NewTicker(sqliteWatchEvery)
		defer t.Stop()
		for {
			select {
			case <-e.done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			v, err := s.dataVersion(ctx)
			switch {
			case err != nil:
				if e.healthy.Swap(false) {
					log.Warn("sqlite change watch failed; caches bypassed until it returns", "err", err)
				}
				e.dispatch(Event{Kind: EventReset})
			case !e.healthy.Load() || v != last:
				last = v
				e.healthy.Store(true)
				e.dispatch(Event{Kind: EventReset})
			}
		}
	}()
	return nil
}

// dataVersion reads SQLite's per-connection commit counter of other connections.
func (s *Store) dataVersion(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var v int64
	if err := s.db.GetContext(ctx, &v, "PRAGMA data_version"); err != nil {
		return 0, fmt.Errorf("data_version: %w", mapErr(err))
	}
	return v, nil
}

// Healthy is false while the change feed is down: a cache must not be
// trusted then, since a revocation could be missed.
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
		e.wg.Wait()
	})
}

// publish announces a change. PostgreSQL delivers it to every listener
// when the surrounding transaction commits; in this process it is
// dispatched by InTx after the commit, or at once outside a transaction.
func (c *Conn) publish(ctx context.Context, kind, id string) error {
	if c.s.dialect.notify {
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

package keyring_test

import (
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/credential"
	"github.com/alumnipass/alumnipass/internal/keyring"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/seal"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// twoStores opens two stores on one database, as a server and a CLI
// process (or a second instance) do: on SQLite the same file, on
// PostgreSQL the same database. The first listens for changes.
func twoStores(t *testing.T, dialect string) (server, other *store.Store) {
	t.Helper()
	ctx := context.Background()
	opts := store.Options{MaxConns: 4}
	if dialect == store.Postgres {
		opts.DatabaseURL = storetest.NewPostgresDB(t)
	} else {
		opts.SQLitePath = filepath.Join(t.TempDir(), "alumnipass.db")
	}
	open := func() *store.Store {
		s, err := store.Open(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}
	server, other = open(), open()
	if err := server.Listen(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200 && !server.Events().Healthy(); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	return server, other
}

func sealer(t *testing.T, b byte) *seal.Sealer {
	s, err := seal.New([]byte(strings.Repeat(string(rune(b)), 32)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: not reached in 2 s", what)
}

func kids(k *keyring.Keyring) map[string]bool {
	out := map[string]bool{}
	for _, j := range k.JWKS() {
		out[j.Kid] = true
	}
	return out
}

// TestKeyringLifecycle: the first key is made on an empty database; a
// rotation keeps the old key verifying; retiring it stops that; the active
// key cannot be retired. A keyring in another process (the CLI) or another
// instance makes the changes, and the server's keyring follows them.
func TestKeyringLifecycle(t *testing.T) {
	for _, d := range []string{store.SQLite, store.Postgres} {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			srvStore, cliStore := twoStores(t, d)
			now := func() time.Time { return time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC) }
			srv, err := keyring.New(ctx, srvStore, sealer(t, 'm'), now)
			if err != nil {
				t.Fatal(err)
			}
			id0, kid0, priv0 := srv.Signer()
			if len(srv.JWKS()) != 1 || priv0 == nil || credential.KeyIDString(id0) != kid0 {
				t.Fatalf("first key: %v %s", srv.JWKS(), kid0)
			}
			cli, err := keyring.New(ctx, cliStore, sealer(t, 'm'), now)
			if err != nil {
				t.Fatal(err)
			}
			if _, kid, _ := cli.Signer(); kid != kid0 {
				t.Fatalf("a second keyring made its own key %s instead of loading %s", kid, kid0)
			}
			by := &model.Principal{Kind: "cli", ID: "cli", Name: "test", Role: model.RoleAdmin}

			if err := cli.Retire(ctx, kid0, by); err == nil {
				t.Fatal("the active key was retired")
			}
			kid1, err := cli.Rotate(ctx, by)
			if err != nil {
				t.Fatal(err)
			}
			eventually(t, "rotation reaches the server", func() bool { _, k, _ := srv.Signer(); return k == kid1 })
			if got := kids(srv); !got[kid0] || !got[kid1] || len(got) != 2 {
				t.Fatalf("after rotation the server publishes %v", got)
			}
			if _, ok := srv.PublicKey(id0); !ok {
				t.Fatal("the previous key stopped verifying at rotation")
			}
			msg := []byte("signed by the old key")
			sig := ed25519.Sign(priv0, msg)
			if pub, _ := srv.PublicKey(id0); !ed25519.Verify(pub, msg, sig) {
				t.Fatal("the previous key's public half is wrong")
			}

			if err := cli.Retire(ctx, kid0, by); err != nil {
				t.Fatal(err)
			}
			eventually(t, "retirement reaches the server", func() bool { _, ok := srv.PublicKey(id0); return !ok })
			if got := kids(srv); got[kid0] || !got[kid1] {
				t.Fatalf("after retirement the server publishes %v", got)
			}
			list, err := srv.List(ctx)
			if err != nil || len(list) != 2 {
				t.Fatalf("list: %v %v", list, err)
			}
			status := map[string]string{}
			for _, k := range list {
				status[k.Kid] = k.Status
			}
			if status[kid0] != model.KeyRetired || status[kid1] != model.KeyActive {
				t.Fatalf("statuses: %v", status)
			}
		})
	}
}

// TestKeyringWrongMasterKey: a keyring under another master key refuses to
// start instead of signing with nothing.
func TestKeyringWrongMasterKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		if _, err := keyring.New(ctx, st, sealer(t, 'a'), time.Now); err != nil {
			t.Fatal(err)
		}
		_, err := keyring.New(ctx, st, sealer(t, 'b'), time.Now)
		if err == nil || !strings.Contains(err.Error(), "ALUMNIPASS_MASTER_KEY") {
			t.Fatalf("wrong master key: %v", err)
		}
	})
}

// TestRewrap: after a rewrap the keys open under the new master key only,
// and a second run changes nothing.
func TestRewrap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		old, cur := sealer(t, 'o'), sealer(t, 'n')
		k, err := keyring.New(ctx, st, old, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.Rotate(ctx, nil); err != nil {
			t.Fatal(err)
		}
		n, _, err := keyring.Rewrap(ctx, st, old, cur)
		if err != nil || n != 2 {
			t.Fatalf("rewrap: %d keys, %v", n, err)
		}
		if _, err := keyring.New(ctx, st, cur, time.Now); err != nil {
			t.Fatalf("new master key after rewrap: %v", err)
		}
		if _, err := keyring.New(ctx, st, old, time.Now); err == nil {
			t.Fatal("the old master key still opens the signing key")
		}
		if n, _, err := keyring.Rewrap(ctx, st, old, cur); err != nil || n != 0 {
			t.Fatalf("second rewrap: %d keys, %v", n, err)
		}
	})
}

package store_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/alumnipass/alumnipass/internal/store"
)

// TestSQLiteFilesArePrivate: the embedded database, its -wal and -shm
// files are 0600 and the data directory 0700, whatever the umask, and a
// data directory left open by an older version is tightened.
func TestSQLiteFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil { // writes: the -wal and -shm files exist now
		t.Fatal(err)
	}
	want := map[string]os.FileMode{dir: 0o700}
	for _, name := range []string{"alumnipass.db", "alumnipass.db-wal", "alumnipass.db-shm"} {
		want[filepath.Join(dir, name)] = 0o600
	}
	for p, mode := range want {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if got := fi.Mode().Perm(); got != mode {
			t.Errorf("%s is %o, want %o", filepath.Base(p), got, mode)
		}
	}
}

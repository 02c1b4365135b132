package main

import (
	"io"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"testing"
)

// TestSoftMemoryLimit: the limit follows the card cache bound, and an
// operator's GOMEMLIMIT is left alone.
func TestSoftMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	t.Setenv("GOMEMLIMIT", "")
	debug.SetMemoryLimit(math.MaxInt64)
	if got := softMemoryLimit(100_000, log); got != 0 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Fatalf("with GOMEMLIMIT set the server set a limit of %d", debug.SetMemoryLimit(-1))
	}

	unsetenv(t, "GOMEMLIMIT")
	for _, tc := range []struct {
		cards int
		want  int64
	}{{100_000, 96<<20 + 100_000<<10}, {0, 96 << 20}, {1_000_000, 96<<20 + 1_000_000<<10}} {
		if got := softMemoryLimit(tc.cards, log); got != tc.want || debug.SetMemoryLimit(-1) != tc.want {
			t.Fatalf("cache of %d cards: limit %d (runtime %d), want %d", tc.cards, got, debug.SetMemoryLimit(-1), tc.want)
		}
	}
}

// unsetenv removes name for the test and restores it after.
func unsetenv(t *testing.T, name string) {
	t.Helper()
	t.Setenv(name, "") // registers the restore
	if err := os.Unsetenv(name); err != nil {
		t.Fatal(err)
	}
}

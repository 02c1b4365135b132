package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/alumnipass/alumnipass/internal/config"
)

// demoMarker is written into the data directory by the demo seed; `serve
// --seed --reset` deletes only a data directory that has it, so that the
// flag can never wipe a database the demo did not make.
const demoMarker = "DEMO"

// demoFiles are what alumnipass keeps in its data directory: the SQLite
// database and its journal files, the development master key, the e-mail
// outbox. Reset deletes these and nothing else.
var demoFiles = []string{"alumnipass.db", "alumnipass.db-wal", "alumnipass.db-shm", "dev-master.key", "outbox", demoMarker}

// resetDemo deletes the demo's embedded database, key and outbox so that
// the next seed starts afresh. It refuses on PostgreSQL and on a data
// directory the demo seed did not make.
func resetDemo(cfg *config.Config, out io.Writer) error {
	if cfg.DatabaseURL != "" {
		return errors.New("--reset deletes only the embedded demo database; DATABASE_URL is set, so drop that database yourself")
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "alumnipass.db")); errors.Is(err, os.ErrNotExist) {
		return nil // nothing to reset
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, demoMarker)); err != nil {
		return fmt.Errorf("--reset: %s was not made by the demo seed (no %s file), so it is left alone; move it away yourself to start afresh", cfg.DataDir, demoMarker)
	}
	for _, name := range demoFiles {
		if err := os.RemoveAll(filepath.Join(cfg.DataDir, name)); err != nil {
			return fmt.Errorf("reset demo: %w", err)
		}
	}
	fmt.Fprintf(out, "alumnipass: deleted the demo database in %s; creating a new demo\n", cfg.DataDir)
	return nil
}

// markDemo records that the demo seed made this data directory's database.
func markDemo(cfg *config.Config) error {
	if cfg.DatabaseURL != "" {
		return nil
	}
	note := "This data directory holds the alumnipass demo (serve --seed).\n`make reset-demo` deletes it and starts a new demo.\n"
	if err := os.WriteFile(filepath.Join(cfg.DataDir, demoMarker), []byte(note), 0o600); err != nil {
		return fmt.Errorf("mark demo: %w", err)
	}
	return nil
}

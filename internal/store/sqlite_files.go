package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// prepareSQLiteFiles makes the embedded database private to the service's
// user before SQLite opens it: the data directory 0700 and the database
// file 0600. SQLite gives the -wal, -shm and -journal files it creates the
// database file's permissions, so creating that file first with 0600 (the
// process umask would otherwise leave it 0644, readable by every local
// user, with the member register and the sealed secrets in it) covers them
// too. Files left by an older version are tightened.
func prepareSQLiteFiles(dataDir, path string) error {
	if dataDir != "" {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return fmt.Errorf("create data dir: %w", err)
		}
		// A directory the service does not own (a mounted volume) keeps the
		// permissions its owner chose; everything else is tightened.
		if err := os.Chmod(dataDir, 0o700); err != nil && !errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("data dir permissions: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create sqlite file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("create sqlite file: %w", err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlite file %s: %w", p, err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return fmt.Errorf("sqlite file permissions %s: %w", p, err)
			}
		}
	}
	return nil
}

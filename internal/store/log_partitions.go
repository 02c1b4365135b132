package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// logPartitionsAhead is how many months after the current one have their
// scan-log partition ready; the purge job runs every few hours, so a month
// never starts without one.
const logPartitionsAhead = 2

// logPartitionPrefix names the monthly partitions: verifications_p202611
// holds the scans of November 2026 (UTC).
const logPartitionPrefix = "verifications_p"

// EnsureLogPartitions creates the monthly partitions of the scan log
// (PostgreSQL, migration 00014) for the month of now and the next
// logPartitionsAhead months, where missing. Scans of a month without one
// went to the default partition; they are moved into the new partition in
// the same transaction, which is why it is created apart and then attached.
// SQLite has one table: nothing to do.
func (s *Store) EnsureLogPartitions(ctx context.Context, now time.Time) error {
	if s.dialect.name != Postgres {
		return nil
	}
	have, err := s.logPartitions(ctx)
	if err != nil {
		return err
	}
	month := monthStart(now)
	for range logPartitionsAhead + 1 {
		name := logPartitionPrefix + month.Format("200601")
		next := month.AddDate(0, 1, 0)
		if _, ok := have[name]; !ok {
			err := s.InTx(ctx, func(tx *Tx) error {
				lo, hi := month.Format(time.RFC3339), next.Format(time.RFC3339)
				for _, q := range []string{
					`SET LOCAL lock_timeout = '2s'`,
					`CREATE TABLE ` + name + ` (LIKE verifications INCLUDING DEFAULTS)`,
					`WITH moved AS (DELETE FROM verifications_default WHERE at >= '` + lo + `' AND at < '` + hi + `' RETURNING *)
					 INSERT INTO ` + name + ` SELECT * FROM moved`,
					`ALTER TABLE verifications ATTACH PARTITION ` + name + ` FOR VALUES FROM ('` + lo + `') TO ('` + hi + `')`,
				} {
					if _, err := tx.x.ExecContext(ctx, q); err != nil {
						return fmt.Errorf("partition %s: %w", name, mapErr(err))
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		month = next
	}
	return nil
}

// logPartitions lists the monthly partitions of the scan log by name, with
// the first instant after each (its upper bound).
func (s *Store) logPartitions(ctx context.Context) (map[string]time.Time, error) {
	const q = `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'verifications'::regclass`
	var names []string
	if err := s.db.SelectContext(ctx, &names, q); err != nil {
		return nil, fmt.Errorf("scan log partitions: %w", mapErr(err))
	}
	out := map[string]time.Time{}
	for _, n := range names {
		m, ok := strings.CutPrefix(n, logPartitionPrefix)
		if !ok {
			continue // the default partition
		}
		t, err := time.Parse("200601", m)
		if err != nil {
			continue
		}
		out[n] = t.AddDate(0, 1, 0)
	}
	return out, nil
}

// dropLogPartitions drops every monthly partition whose rows are all older
// than before, and returns how many rows they held (the planner's count,
// kept current by autovacuum; counting exactly would read them all).
func (s *Store) dropLogPartitions(ctx context.Context, before time.Time) (int64, error) {
	have, err := s.logPartitions(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for name, end := range have {
		if end.After(before) {
			continue
		}
		err := s.InTx(ctx, func(tx *Tx) error {
			var rows float64
			if err := tx.x.QueryRowxContext(ctx, `SELECT GREATEST(reltuples, 0) FROM pg_class WHERE relname = $1`, name).Scan(&rows); err != nil {
				return fmt.Errorf("size of %s: %w", name, mapErr(err))
			}
			// A scan in flight holds a lock on the parent; do not queue
			// every scan behind this one: give up and try at the next purge.
			for _, q := range []string{`SET LOCAL lock_timeout = '2s'`, `DROP TABLE ` + name} {
				if _, err := tx.x.ExecContext(ctx, q); err != nil {
					return fmt.Errorf("drop %s: %w", name, mapErr(err))
				}
			}
			total += int64(rows)
			return nil
		})
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

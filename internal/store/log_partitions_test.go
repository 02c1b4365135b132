package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// TestPurgeByMonth keeps exactly the scans younger than the retention
// cut-off on both databases. On PostgreSQL (migration 00014) the months
// wholly before the cut-off are dropped as partitions — the rows of an old
// month that first landed in the default partition are moved into their
// own when it is created — and the purge leaves partitions ready for this
// month and the next two.
func TestPurgeByMonth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		ages := []time.Duration{150 * 24 * time.Hour, 120 * 24 * time.Hour, 65 * 24 * time.Hour, 55 * 24 * time.Hour, 24 * time.Hour, 0}
		ids := map[string]time.Duration{}
		var vs []model.Verification
		for _, age := range ages {
			v := model.Verification{ID: uuid.Must(uuid.NewV7()).String(), At: now.Add(-age), PartnerID: "p", VenueID: "v", APIKeyID: "k",
				Kind: "member", CodeHash: uuid.NewString(), Result: model.ResultValid}
			ids[v.ID] = age
			vs = append(vs, v)
		}
		storetest.Must(t, s.InsertVerifications(ctx, vs))
		// The month of the oldest scans gets its partition late, as after
		// a long stop: its rows move out of the default partition.
		storetest.Must(t, s.EnsureLogPartitions(ctx, now.Add(-150*24*time.Hour)))
		before := partitions(t, s)
		if s.Dialect() == store.Postgres {
			var inDefault int
			storetest.Must(t, s.DB().QueryRowContext(ctx, `SELECT count(*) FROM verifications_default WHERE at < $1`, now.Add(-100*24*time.Hour)).Scan(&inDefault))
			if inDefault != 0 {
				t.Errorf("%d old scans left in the default partition after their months got partitions", inDefault)
			}
		}

		cutoff := now.Add(-60 * 24 * time.Hour)
		n, err := s.PurgeBefore(ctx, cutoff)
		storetest.Must(t, err)
		t.Logf("purge reported %d rows", n)
		for id, age := range ids {
			_, err := s.Verification(ctx, id)
			switch gone := err != nil; {
			case age > 60*24*time.Hour && !gone:
				t.Errorf("scan %s old is still there", age)
			case age < 60*24*time.Hour && gone:
				t.Errorf("scan %s old was purged: %v", age, err)
			}
		}
		if s.Dialect() != store.Postgres {
			return
		}
		after := partitions(t, s)
		old := "verifications_p" + now.Add(-150*24*time.Hour).Format("200601")
		if !slices.Contains(before, old) || slices.Contains(after, old) {
			t.Errorf("partition %s: before the purge %v, after %v; want it created, then dropped", old, before, after)
		}
		for m := range 3 {
			want := "verifications_p" + time.Date(now.Year(), now.Month()+time.Month(m), 1, 0, 0, 0, 0, time.UTC).Format("200601")
			if !slices.Contains(after, want) {
				t.Errorf("no partition %s after the purge: %v", want, after)
			}
		}
	})
}

func partitions(t *testing.T, s *store.Store) []string {
	t.Helper()
	if s.Dialect() != store.Postgres {
		return nil
	}
	rows, err := s.DB().Query(`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'verifications'::regclass ORDER BY 1`)
	storetest.Must(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		storetest.Must(t, rows.Scan(&n))
		out = append(out, n)
	}
	return out
}

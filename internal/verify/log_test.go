package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// TestLogKeepsEveryAnsweredScan: scans written concurrently through two
// small-batch writers while the log is closed half-way. Every scan that got
// an answer is on record with the result it was answered with, each code has
// exactly one first use, a scan refused by the closing log left nothing
// behind, and Close returns only when the queue is written.
func TestLogKeepsEveryAnsweredScan(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		l := NewLog(st, 2, 8, 4)
		now := time.Now().UTC().Truncate(time.Microsecond)
		const scans, codes = 600, 150 // each code shown four times, at two venues
		type answer struct {
			rec model.Verification
			w   written
			err error
		}
		answers := make([]answer, scans)
		var wg sync.WaitGroup
		for i := range scans {
			if i == scans/2 {
				wg.Add(1)
				go func() { defer wg.Done(); l.Close() }()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				hash := fmt.Sprintf("code-%03d", i%codes)
				rec := model.Verification{ID: newID(), At: now, PartnerID: "p", VenueID: fmt.Sprintf("venue-%d", i/codes%2),
					APIKeyID: "k", Kind: "member", CodeHash: hash, Result: model.ResultValid}
				claim := &store.CodeUse{CodeHash: hash, VerificationID: rec.ID, VenueID: rec.VenueID, At: now}
				w, err := l.Write(ctx, entry{rec: rec, claim: claim, expires: now.Add(CodeLife)})
				answers[i] = answer{rec: rec, w: w, err: err}
			}()
		}
		wg.Wait()
		l.Close()

		firstUses := map[string]string{}
		answered := 0
		for _, a := range answers {
			if a.err != nil {
				if !errors.Is(a.err, model.ErrUnavailable) {
					t.Fatalf("scan %s: want a closed-log error, got %v", a.rec.ID, a.err)
				}
				if _, err := st.Verification(ctx, a.rec.ID); !errors.Is(err, model.ErrNotFound) {
					t.Fatalf("refused scan %s is on record (%v)", a.rec.ID, err)
				}
				continue
			}
			answered++
			got, err := st.Verification(ctx, a.rec.ID)
			if err != nil {
				t.Fatalf("answered scan %s is not on record: %v", a.rec.ID, err)
			}
			switch {
			case a.w.first == nil:
				if prev, dup := firstUses[a.rec.CodeHash]; dup {
					t.Fatalf("%s has two first uses: %s and %s", a.rec.CodeHash, prev, a.rec.ID)
				}
				firstUses[a.rec.CodeHash] = a.rec.ID
				if got.Result != model.ResultValid || got.Detail != "" {
					t.Fatalf("first use %s recorded as %s %q", a.rec.ID, got.Result, got.Detail)
				}
			case a.w.first.VenueID == a.rec.VenueID:
				if got.Result != model.ResultValid || got.Detail != "repeat of "+a.w.first.VerificationID {
					t.Fatalf("repeat %s recorded as %s %q, answered as a repeat of %s", a.rec.ID, got.Result, got.Detail, a.w.first.VerificationID)
				}
			default:
				if got.Result != model.ResultReplayed || !strings.HasPrefix(got.Detail, "first used ") {
					t.Fatalf("replay %s recorded as %s %q", a.rec.ID, got.Result, got.Detail)
				}
			}
		}
		if answered == 0 || answered == scans {
			t.Logf("%d of %d scans answered: Close came too early or too late to test both sides", answered, scans)
		}
		for hash, id := range firstUses {
			uses, err := st.CodeUses(ctx, []string{hash})
			if err != nil || uses[hash].VerificationID != id {
				t.Fatalf("code_uses for %s: %+v (%v), want the first use %s", hash, uses[hash], err, id)
			}
		}
		var rows int
		storetest.Must(t, st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM verifications").Scan(&rows))
		if rows != answered {
			t.Fatalf("%d verifications on record, %d scans answered", rows, answered)
		}
		if _, err := l.Write(ctx, entry{rec: model.Verification{ID: newID()}}); !errors.Is(err, model.ErrUnavailable) {
			t.Fatalf("write after Close: want ErrUnavailable, got %v", err)
		}
	})
}

package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// TestPreparingNeverWaitsUnderTheLock: a transaction that holds the last
// connection of the pool can still use a prepared statement while the
// scan log waits for a connection to prepare its own. Before, the log held
// the store's statement lock while it waited, and the transaction waited
// for that lock: a deadlock (seen in CI as TestConcurrentRedemptions
// hanging, with a statement closed under the same lock).
func TestPreparingNeverWaitsUnderTheLock(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		s.DB().SetMaxOpenConns(1)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		logged := make(chan error, 1)
		txDone := make(chan error, 1)
		go func() {
			txDone <- s.InTx(ctx, func(tx *store.Tx) error {
				go func() {
					_, err := s.LogScans(ctx, []store.ScanRecord{{Verification: model.Verification{
						ID: uuid.NewString(), At: time.Now(), PartnerID: "p", VenueID: "v", APIKeyID: "k",
						Kind: "unknown", CodeHash: "h", Result: "invalid", Detail: "test"}}})
					logged <- err
				}()
				time.Sleep(300 * time.Millisecond) // the log now waits for the one connection
				_, err := tx.RedemptionFacts(ctx, "key", "idem-key-1", uuid.NewString(), uuid.NewString())
				return err
			})
		}()
		select {
		case err := <-txDone:
			storetest.Must(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("the transaction waited 10 s for the statement lock held by a writer waiting for its connection")
		}
		select {
		case err := <-logged:
			storetest.Must(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("the scan was not logged after the transaction ended")
		}
	})
}

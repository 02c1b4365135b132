package verify

import (
	"fmt"
	"testing"
)

// TestRecentScansForgetTheOldest: the memory of recent scans holds its
// bound and forgets the oldest first; a forgotten scan is only a
// redemption decided from the database.
func TestRecentScansForgetTheOldest(t *testing.T) {
	r := newRecentScans(4)
	for i := range 6 {
		r.add(fmt.Sprint("v", i), recentScan{cardID: fmt.Sprint("c", i), companions: i})
	}
	if len(r.byID) != 4 {
		t.Fatalf("%d scans kept, bound 4", len(r.byID))
	}
	for i := range 6 {
		s, ok := r.get(fmt.Sprint("v", i))
		if want := i >= 2; ok != want || ok && (s.cardID != fmt.Sprint("c", i) || s.companions != i) {
			t.Errorf("scan %d: %+v %v, want kept=%v", i, s, ok, want)
		}
	}
}

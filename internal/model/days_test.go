package model

import (
	"slices"
	"testing"
)

// TestOrderedDays: stored days come back Monday first, whatever order they
// were saved in; no days is every day (nil).
func TestOrderedDays(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"fri,mon", []string{"mon", "fri"}},
		{"sun,sat,mon", []string{"mon", "sat", "sun"}},
		{"wed", []string{"wed"}},
	} {
		if got := OrderedDays(c.in); !slices.Equal(got, c.want) {
			t.Errorf("OrderedDays(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

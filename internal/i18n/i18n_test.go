package i18n_test

import (
	"sort"
	"testing"

	"github.com/alumnipass/alumnipass/internal/i18n"
	"github.com/alumnipass/alumnipass/static"
)

// TestCataloguesHaveTheSameKeys keeps Japanese and English complete: a key
// in one language and not the other is a page half-translated.
func TestCataloguesHaveTheSameKeys(t *testing.T) {
	c, err := i18n.Load(static.FS, "i18n")
	if err != nil {
		t.Fatal(err)
	}
	ja, en := c.Keys("ja"), c.Keys("en")
	if len(ja) < 50 {
		t.Fatalf("only %d Japanese messages", len(ja))
	}
	var missing []string
	for k := range ja {
		if !en[k] {
			missing = append(missing, "en:"+k)
		}
	}
	for k := range en {
		if !ja[k] {
			missing = append(missing, "ja:"+k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("messages missing: %v", missing)
	}
}

func TestPick(t *testing.T) {
	for _, tc := range []struct{ explicit, accept, want string }{
		{"", "", "ja"},
		{"", "en-US,en;q=0.9", "en"},
		{"", "fr-FR, en;q=0.5", "en"},
		{"", "ja-JP", "ja"},
		{"ja", "en", "ja"},
		{"de", "en", "en"},
	} {
		if got := i18n.Pick(tc.explicit, tc.accept); got != tc.want {
			t.Errorf("Pick(%q, %q) = %q, want %q", tc.explicit, tc.accept, got, tc.want)
		}
	}
}

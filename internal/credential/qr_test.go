package credential

import (
	"strings"
	"testing"

	qrcode "github.com/skip2/go-qrcode"
)

// qrAlphanumeric is the QR alphanumeric character set.
const qrAlphanumeric = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// qrVersionM returns the QR version go-qrcode picks for text at level M.
func qrVersionM(tb testing.TB, text string) int {
	tb.Helper()
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		tb.Fatalf("qrcode.New: %v", err)
	}
	return q.VersionNumber
}

func TestCodesFitSmallQR(t *testing.T) {
	card := vectorCard()
	longest := vectorCard()
	longest.Tier = strings.Repeat("z", MaxTierLen)
	shortest := vectorCard()
	shortest.Tier = "a"
	tests := []struct {
		name        string
		code        string
		wantLen     int
		wantVersion int
	}{
		{"card, tier standard", CardCode(mustSignCard(t, card), "123456"), 173, 7},
		{"card, 1-char tier", CardCode(mustSignCard(t, shortest), "123456"), 163, 7},
		{"card, 16-char tier", CardCode(mustSignCard(t, longest), "123456"), 185, 8},
		{"guest pass", mustSignGuest(t, vectorGuest()), 181, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if i := strings.IndexFunc(tt.code, func(r rune) bool { return !strings.ContainsRune(qrAlphanumeric, r) }); i >= 0 {
				t.Errorf("character %q at %d is not QR alphanumeric", tt.code[i], i)
			}
			if len(tt.code) != tt.wantLen {
				t.Errorf("length %d, want %d", len(tt.code), tt.wantLen)
			}
			v := qrVersionM(t, tt.code)
			if v > 8 {
				t.Errorf("QR version %d at level M, want <= 8", v)
			}
			if v != tt.wantVersion {
				t.Errorf("QR version %d at level M, want %d (update docs/credential-format.md)", v, tt.wantVersion)
			}
		})
	}
}

func TestEveryTierLengthFitsVersion8(t *testing.T) {
	for n := 1; n <= MaxTierLen; n++ {
		c := vectorCard()
		c.Tier = strings.Repeat("a", n)
		code := CardCode(mustSignCard(t, c), "999999")
		if v := qrVersionM(t, code); v > 8 {
			t.Errorf("tier of %d chars: %d chars, QR version %d", n, len(code), v)
		}
		t.Logf("tier %2d chars: code %d chars, QR version %d-M", n, len(code), qrVersionM(t, code))
	}
}

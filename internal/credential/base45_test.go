package credential

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

func TestBase45RFC9285Examples(t *testing.T) {
	tests := []struct{ plain, encoded string }{
		{"", ""},
		{"AB", "BB8"},
		{"Hello!!", "%69 VD92EX0"},
		{"base-45", "UJCLQE7W581"},
		{"ietf!", "QED8WEX0"},
		{"\x00", "00"},
		{"\xff", "U5"},
		{"\xff\xff", "FGW"},
	}
	for _, tt := range tests {
		t.Run(tt.encoded, func(t *testing.T) {
			if got := string(appendBase45(nil, []byte(tt.plain))); got != tt.encoded {
				t.Errorf("encode(%q) = %q, want %q", tt.plain, got, tt.encoded)
			}
			n, ok := base45DecodedLen(len(tt.encoded))
			if !ok || n != len(tt.plain) {
				t.Fatalf("decoded length of %d chars = %d, %v", len(tt.encoded), n, ok)
			}
			got := make([]byte, n)
			if err := decodeBase45(got, tt.encoded); err != nil || string(got) != tt.plain {
				t.Errorf("decode(%q) = %q, %v, want %q", tt.encoded, got, err, tt.plain)
			}
		})
	}
}

func TestBase45RejectsInvalid(t *testing.T) {
	tests := []struct{ name, text string }{
		{"single char", "A"},
		{"trailing single char", "BB8A"},
		{"triplet 65536", "GGW"},
		{"triplet max value", ":::"},
		{"pair 256", "V5"},
		{"pair max value", "::"},
		{"lowercase", "bb8"},
		{"underscore", "B_8"},
		{"hash", "#B8"},
		{"tab", "B\t8"},
		{"non ascii", "B\xc38"},
		{"nul", "\x00B8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, ok := base45DecodedLen(len(tt.text))
			if !ok {
				return // rejected by length
			}
			err := decodeBase45(make([]byte, n), tt.text)
			if !errors.Is(err, ErrFormat) {
				t.Errorf("decode(%q) = %v, want ErrFormat", tt.text, err)
			}
		})
	}
}

func TestBase45EveryTripletAndPairIsCanonical(t *testing.T) {
	// Every text that decodes must re-encode to itself: one text per value.
	var out [2]byte
	valid := 0
	for a := range 45 {
		for b := range 45 {
			pair := string([]byte{base45Alphabet[a], base45Alphabet[b]})
			if err := decodeBase45(out[:1], pair); err == nil {
				if got := string(appendBase45(nil, out[:1])); got != pair {
					t.Fatalf("pair %q re-encodes to %q", pair, got)
				}
				valid++
			}
			for c := range 45 {
				tri := pair + string(base45Alphabet[c])
				if err := decodeBase45(out[:], tri); err == nil {
					if got := string(appendBase45(nil, out[:])); got != tri {
						t.Fatalf("triplet %q re-encodes to %q", tri, got)
					}
					valid++
				}
			}
		}
	}
	if want := 256 + 65536; valid != want {
		t.Errorf("%d valid pairs and triplets, want %d", valid, want)
	}
}

func TestBase45RandomRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(rng.Uint32())
		}
		text := appendBase45(nil, src)
		if len(text) != base45EncodedLen(n) {
			t.Fatalf("len %d: encoded %d chars, want %d", n, len(text), base45EncodedLen(n))
		}
		dst := make([]byte, n)
		if err := decodeBase45(dst, string(text)); err != nil || !bytes.Equal(dst, src) {
			t.Fatalf("len %d: round trip failed: %v", n, err)
		}
	}
}

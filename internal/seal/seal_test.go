package seal

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealRoundTripAndBinding(t *testing.T) {
	k1 := bytes.Repeat([]byte{1}, 32)
	k2 := bytes.Repeat([]byte{2}, 32)
	s1, err := New(k1)
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := New(k2)
	secret := []byte("totp secret 12345678")
	ct, err := s1.Seal(secret, "card:a")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, secret) {
		t.Fatal("ciphertext contains the plaintext")
	}
	got, err := s1.Open(ct, "card:a")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("open = %q, %v", got, err)
	}
	cases := map[string]func() ([]byte, error){
		"other row": func() ([]byte, error) { return s1.Open(ct, "card:b") },
		"other key": func() ([]byte, error) { return s2.Open(ct, "card:a") },
		"truncated": func() ([]byte, error) { return s1.Open(ct[:10], "card:a") },
		"bit flipped": func() ([]byte, error) {
			bad := bytes.Clone(ct)
			bad[len(bad)-1] ^= 1
			return s1.Open(bad, "card:a")
		},
	}
	for name, fn := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := fn(); !errors.Is(err, ErrOpen) {
				t.Fatalf("want ErrOpen, got %v", err)
			}
		})
	}
	if _, err := New([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
}

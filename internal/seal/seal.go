// Package seal encrypts secrets at rest (TOTP secrets, signing private keys)
// with AES-256-GCM under the master key, binding each ciphertext to what it
// protects (associated data) so that a row's secret cannot be moved to
// another row.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// version prefixes every ciphertext, so the format can change later.
const version = 1

// ErrOpen means a ciphertext could not be decrypted: wrong key or tampering.
var ErrOpen = errors.New("seal: cannot decrypt (wrong master key or damaged data)")

// Sealer encrypts and decrypts with one master key.
type Sealer struct {
	aead cipher.AEAD
	kid  [4]byte
}

// New makes a Sealer from a 32-byte master key.
func New(masterKey []byte) (*Sealer, error) {
	if len(masterKey) != 32 {
		return nil, fmt.Errorf("seal: master key must be 32 bytes, got %d", len(masterKey))
	}
	block, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	s := &Sealer{aead: aead}
	sum := sha256.Sum256(append([]byte("alumnipass master key id\x00"), masterKey...))
	copy(s.kid[:], sum[:4])
	return s, nil
}

// Seal encrypts plaintext bound to ad (for example "card:<id>").
// Layout: version(1) | key id(4) | nonce(12) | ciphertext+tag.
func (s *Sealer) Seal(plaintext []byte, ad string) ([]byte, error) {
	out := make([]byte, 1+4+s.aead.NonceSize(), 1+4+s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	out[0] = version
	copy(out[1:5], s.kid[:])
	if _, err := rand.Read(out[5:]); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return s.aead.Seal(out, out[5:], plaintext, []byte(ad)), nil
}

// Open decrypts what Seal produced with the same ad.
func (s *Sealer) Open(sealed []byte, ad string) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+4+n+s.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	if [4]byte(sealed[1:5]) != s.kid {
		return nil, fmt.Errorf("%w: sealed under another master key", ErrOpen)
	}
	pt, err := s.aead.Open(nil, sealed[5:5+n], sealed[5+n:], []byte(ad))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

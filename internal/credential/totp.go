package credential

import (
	"crypto/rand"
	"crypto/sha1" // RFC 6238 as Google Wallet uses it: HMAC-SHA1
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// TOTP parameters, those of RFC 6238's defaults and of Google Wallet's
// rotating barcodes, so a wallet pass can later share the secret.
const (
	// TOTPDigits is the number of decimal digits in a TOTP value.
	TOTPDigits = 6
	// TOTPPeriod is the length of one time step; T0 is the Unix epoch.
	TOTPPeriod = 30 * time.Second
	// TOTPSecretSize is the size of secrets made by NewTOTPSecret (160 bits,
	// the HMAC-SHA1 output size that RFC 4226 recommends).
	TOTPSecretSize = 20
	// MaxTOTPSearch caps the search of MatchTOTP at one day of steps, so a
	// misconfigured caller cannot make one scan cost unbounded work.
	MaxTOTPSearch = 2880

	totpModulus = 1_000_000
	sha1Block   = 64
)

// NewTOTPSecret returns a new random secret of TOTPSecretSize bytes read from
// random, or from crypto/rand when random is nil.
func NewTOTPSecret(random io.Reader) ([]byte, error) {
	if random == nil {
		random = rand.Reader
	}
	secret := make([]byte, TOTPSecretSize)
	if _, err := io.ReadFull(random, secret); err != nil {
		return nil, fmt.Errorf("new totp secret: %w", err)
	}
	return secret, nil
}

// TOTPSecretBase32 returns the secret in unpadded RFC 4648 base32, the form
// otpauth:// URIs and authenticator apps use.
func TOTPSecretBase32(secret []byte) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
}

// TOTP returns the 6-digit RFC 6238 value (HMAC-SHA1, 30 s steps, T0 = 0)
// of secret at t, the same value as github.com/pquerna/otp/totp computes.
func TOTP(secret []byte, t time.Time) string {
	key := newHOTPKey(secret)
	v := key.value(uint64(totpStep(t)))
	var b [TOTPDigits]byte
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[:])
}

// MatchTOTP checks a TOTP value read from a code against secret at time t.
//
// ok is true when code equals the value at step(t)+offset for some |offset|
// <= window. Otherwise the steps within ±search are searched as well so that
// staff can be told how far the phone clock is off (or that the code is an
// old picture): found is true and offset is the nearest matching step, or
// found is false when none matches. A negative offset means the code is
// from the past. On a tie the past wins. window and search are clamped to
// 0..MaxTOTPSearch, and search to at least window. An empty secret or a code
// that is not 6 ASCII digits never matches. Values are compared in constant
// time.
func MatchTOTP(secret []byte, code string, t time.Time, window, search int) (offset int, ok bool, found bool) {
	want, valid := parseTOTPDigits(code)
	if !valid || len(secret) == 0 {
		return 0, false, false
	}
	window = min(max(window, 0), MaxTOTPSearch)
	search = min(max(search, window), MaxTOTPSearch)
	key := newHOTPKey(secret)
	step := totpStep(t)
	for dist := 0; dist <= search; dist++ {
		if key.matches(step-int64(dist), want) {
			return -dist, dist <= window, true
		}
		if dist > 0 && key.matches(step+int64(dist), want) {
			return dist, dist <= window, true
		}
	}
	return 0, false, false
}

// parseTOTPDigits reads exactly TOTPDigits ASCII digits.
func parseTOTPDigits(code string) (uint32, bool) {
	if len(code) != TOTPDigits {
		return 0, false
	}
	var v uint32
	for i := 0; i < len(code); i++ {
		c := code[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint32(c-'0')
	}
	return v, true
}

// totpStep returns the RFC 6238 time step of t: floor(unix seconds / 30).
func totpStep(t time.Time) int64 {
	s, p := t.Unix(), int64(TOTPPeriod/time.Second)
	if s < 0 {
		return (s - p + 1) / p
	}
	return s / p
}

// hotpKey holds the HMAC-SHA1 key pads of one secret (RFC 2104), so that
// checking several steps prepares the key once and allocates nothing.
type hotpKey struct{ ipad, opad [sha1Block]byte }

// newHOTPKey prepares secret as an HMAC-SHA1 key; like crypto/hmac, a key
// longer than a block is hashed first.
func newHOTPKey(secret []byte) hotpKey {
	var k hotpKey
	if len(secret) > sha1Block {
		sum := sha1.Sum(secret)
		copy(k.ipad[:], sum[:])
	} else {
		copy(k.ipad[:], secret)
	}
	k.opad = k.ipad
	for i := range k.ipad {
		k.ipad[i] ^= 0x36
		k.opad[i] ^= 0x5c
	}
	return k
}

// value returns the RFC 4226 HOTP value of counter, modulo 10^6.
func (k *hotpKey) value(counter uint64) uint32 {
	var in [sha1Block + 8]byte
	copy(in[:], k.ipad[:])
	binary.BigEndian.PutUint64(in[sha1Block:], counter)
	inner := sha1.Sum(in[:])

	var out [sha1Block + sha1.Size]byte
	copy(out[:], k.opad[:])
	copy(out[sha1Block:], inner[:])
	sum := sha1.Sum(out[:])

	off := sum[len(sum)-1] & 0x0f
	return (binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff) % totpModulus
}

// matches compares the value at step with want in constant time.
func (k *hotpKey) matches(step int64, want uint32) bool {
	return subtle.ConstantTimeEq(int32(k.value(uint64(step))), int32(want)) == 1
}

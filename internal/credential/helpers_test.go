package credential

import (
	"crypto/ed25519"
	"strings"
	"testing"
	"time"
)

// vectorSeed is the Ed25519 seed of the test vectors: bytes 0x00..0x1f.
func vectorSeed() []byte {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	return seed
}

// seqID returns 16 consecutive bytes starting at first, e.g. a0 a1 … af.
func seqID(first byte) [16]byte {
	var id [16]byte
	for i := range id {
		id[i] = first + byte(i)
	}
	return id
}

// vectorKey returns the private key of the test vectors.
func vectorKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(vectorSeed())
}

// otherKey returns a second key, seed 0x20..0x3f, for wrong-key tests.
func otherKey() ed25519.PrivateKey {
	seed := vectorSeed()
	for i := range seed {
		seed[i] += 0x20
	}
	return ed25519.NewKeyFromSeed(seed)
}

// pubOf returns the public half of priv.
func pubOf(priv ed25519.PrivateKey) ed25519.PublicKey {
	return priv.Public().(ed25519.PublicKey)
}

// vectorTime is the reference time of the test vectors.
var vectorTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// vectorTOTPSecret is the RFC 6238 SHA1 test secret.
func vectorTOTPSecret() []byte { return []byte("12345678901234567890") }

// vectorCard is the card of the test vectors.
func vectorCard() Card {
	return Card{
		KeyID:      KeyIDOf(pubOf(vectorKey())),
		CardID:     seqID(0xa0),
		IssuedAt:   vectorTime,
		ExpiresAt:  vectorTime.AddDate(1, 0, 0),
		Companions: 2,
		Tier:       "standard",
	}
}

// vectorGuest is the guest pass of the test vectors.
func vectorGuest() GuestPass {
	return GuestPass{
		KeyID:      KeyIDOf(pubOf(vectorKey())),
		PassID:     seqID(0xb0),
		HostCardID: seqID(0xa0),
		ValidFrom:  vectorTime,
		ValidUntil: vectorTime.Add(24 * time.Hour),
		MaxUses:    1,
		PartySize:  2,
	}
}

// mustSignCard signs c with the vector key or fails the test.
func mustSignCard(tb testing.TB, c Card) string {
	tb.Helper()
	sp, err := SignCard(vectorKey(), c)
	if err != nil {
		tb.Fatalf("SignCard: %v", err)
	}
	return sp
}

// mustSignGuest signs g with the vector key or fails the test.
func mustSignGuest(tb testing.TB, g GuestPass) string {
	tb.Helper()
	code, err := SignGuestPass(vectorKey(), g)
	if err != nil {
		tb.Fatalf("SignGuestPass: %v", err)
	}
	return code
}

// signRaw signs arbitrary message bytes and returns base45(msg || sig),
// so tests can build codes whose fields SignCard would refuse.
func signRaw(priv ed25519.PrivateKey, msg []byte) string {
	body := append(append([]byte(nil), msg...), ed25519.Sign(priv, msg)...)
	return string(appendBase45(nil, body))
}

// reencode rebuilds the code text from the parsed fields (not from the
// stored text), so a round trip proves there is one text per code.
func reencode(tb testing.TB, p *Parsed) string {
	tb.Helper()
	var msg []byte
	switch p.Kind {
	case KindCard:
		msg = appendCardMessage(nil, p.Card)
	case KindGuest:
		msg = appendGuestMessage(nil, p.Guest)
	default:
		tb.Fatalf("reencode: kind %v", p.Kind)
	}
	if string(msg) != string(p.message()) {
		tb.Fatalf("fields re-encode to message %x, parsed message %x", msg, p.message())
	}
	text := string(appendBase45(nil, append(msg, p.signature()...)))
	if p.Kind == KindCard {
		return CardCode(text, p.TOTP)
	}
	return Prefix + string(KindGuest) + text
}

// trimScanner trims what Parse trims.
func trimScanner(s string) string { return strings.Trim(s, " \t\r\n") }

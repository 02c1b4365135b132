package credential

import (
	"crypto/ed25519"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	code := CardCode(mustSignCard(b, vectorCard()), TOTP(vectorTOTPSecret(), vectorTime))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(code); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseAndVerify is the cryptographic work of one card scan.
func BenchmarkParseAndVerify(b *testing.B) {
	secret := vectorTOTPSecret()
	code := CardCode(mustSignCard(b, vectorCard()), TOTP(secret, vectorTime))
	pub := pubOf(vectorKey())
	b.ReportAllocs()
	for b.Loop() {
		p, err := Parse(code)
		if err != nil || !p.VerifySignature(pub) {
			b.Fatal("does not verify", err)
		}
		if _, ok, _ := MatchTOTP(secret, p.TOTP, vectorTime, 1, 20); !ok {
			b.Fatal("totp")
		}
	}
}

func BenchmarkEd25519Verify(b *testing.B) {
	priv := vectorKey()
	c := vectorCard()
	msg := appendCardMessage(nil, &c)
	sig := ed25519.Sign(priv, msg)
	pub := pubOf(priv)
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("does not verify")
		}
	}
}

func BenchmarkTOTP(b *testing.B) {
	secret := vectorTOTPSecret()
	b.ReportAllocs()
	for b.Loop() {
		_ = TOTP(secret, vectorTime)
	}
}

// BenchmarkMatchTOTPMiss is the worst case of a scan: a stale code that
// matches nowhere, searched over ±20 steps (41 HMACs).
func BenchmarkMatchTOTPMiss(b *testing.B) {
	secret := vectorTOTPSecret()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, found := MatchTOTP(secret, "000000", vectorTime, 1, 20); found {
			b.Fatal("000000 matches")
		}
	}
}

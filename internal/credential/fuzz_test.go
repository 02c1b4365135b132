package credential

import (
	"errors"
	"testing"
)

func FuzzParse(f *testing.F) {
	card := CardCode(mustSignCard(f, vectorCard()), "123456")
	guest := mustSignGuest(f, vectorGuest())
	for _, s := range []string{card, guest, " " + card + "\r\n", card[:40], guest + "00", "AP1:C", "AP1:G", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			if p != nil || !errors.Is(err, ErrFormat) {
				t.Fatalf("Parse(%q) = %v, %v", s, p, err)
			}
			return
		}
		if (p.Kind == KindCard) != (p.Card != nil) || (p.Kind == KindGuest) != (p.Guest != nil) {
			t.Fatalf("Parse(%q): kind %v with card %v, guest %v", s, p.Kind, p.Card, p.Guest)
		}
		if got, want := reencode(t, p), trimScanner(s); got != want {
			t.Fatalf("Parse(%q) re-encodes to %q", s, got)
		}
	})
}

// mutateCode applies edits to code. Each edit is three bytes: an operation,
// a position and a value. Starting from a valid code lets the fuzzer spend
// its time on near misses, which are the interesting forgeries.
func mutateCode(code string, edits []byte) string {
	b := []byte(code)
	for i := 0; i+3 <= len(edits); i += 3 {
		op, v := edits[i]%6, edits[i+2]
		pos := int(edits[i+1]) % (len(b) + 1)
		switch {
		case op == 0 && pos < len(b): // replace with any byte
			b[pos] = v
		case op == 1 && pos < len(b): // replace with a base45 character
			b[pos] = base45Alphabet[int(v)%len(base45Alphabet)]
		case op == 2 && pos < len(b): // flip one bit
			b[pos] ^= 1 << (v % 8)
		case op == 3: // insert a base45 character
			b = append(b[:pos], append([]byte{base45Alphabet[int(v)%len(base45Alphabet)]}, b[pos:]...)...)
		case op == 4 && pos < len(b): // delete
			b = append(b[:pos], b[pos+1:]...)
		case op == 5 && pos+1 < len(b): // swap neighbours
			b[pos], b[pos+1] = b[pos+1], b[pos]
		}
	}
	return string(b)
}

func FuzzMutatedCodeNeverVerifies(f *testing.F) {
	pub := pubOf(vectorKey())
	cardPart := mustSignCard(f, vectorCard())
	codes := []string{CardCode(cardPart, "123456"), mustSignGuest(f, vectorGuest())}
	f.Add(uint8(0), []byte{1, 20, 7})
	f.Add(uint8(1), []byte{2, 100, 3})
	f.Add(uint8(0), []byte{1, 5, 1, 1, 10, 2}) // TOTP digit changes: still verifies
	f.Add(uint8(1), []byte{4, 180, 0, 3, 180, 9})
	f.Fuzz(func(t *testing.T, which uint8, edits []byte) {
		orig := codes[int(which)%len(codes)]
		mutated := mutateCode(orig, edits)
		p, err := Parse(mutated)
		if err != nil || !p.VerifySignature(pub) {
			return
		}
		// Still verifies: only the TOTP digits or surrounding whitespace may
		// have changed, so what remains must be the original signed part.
		want, _ := Parse(orig)
		if p.Kind != want.Kind || p.SignedPart != want.SignedPart {
			t.Fatalf("mutated code %q verifies (from %q)", mutated, orig)
		}
	})
}

func FuzzParseV2(f *testing.F) {
	code := mustCodeV2(f, vectorCardV2(f), vectorDevice(f), vectorTime)
	v1 := CardCode(mustSignCard(f, vectorCard()), "123456")
	for _, s := range []string{code, " " + code + "\r\n", code[:120], code + "00", "AP2:C", "AP2:G" + code[5:], v1, ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseV2(s)
		if err != nil {
			if p != nil || !errors.Is(err, ErrFormat) {
				t.Fatalf("ParseV2(%q) = %v, %v", s, p, err)
			}
			return
		}
		if got, want := reencodeV2(t, p), trimScanner(s); got != want {
			t.Fatalf("ParseV2(%q) re-encodes to %q", s, got)
		}
		if p.VerifyDevice() && p.VerifySignature(pubOf(vectorKey())) && p.Card.CardID != seqID(0xa0) {
			t.Fatalf("a forged card %x verifies", p.Card.CardID)
		}
	})
}

package credential

import (
	"crypto/ed25519"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestCardRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Card)
	}{
		{"vector", func(*Card) {}},
		{"tier one char", func(c *Card) { c.Tier = "a" }},
		{"tier max length", func(c *Card) { c.Tier = strings.Repeat("z", MaxTierLen) }},
		{"tier every character class", func(c *Card) { c.Tier = "az09_-" }},
		{"companions zero", func(c *Card) { c.Companions = 0 }},
		{"companions max", func(c *Card) { c.Companions = math.MaxUint8 }},
		{"widest window", func(c *Card) {
			c.IssuedAt, c.ExpiresAt = time.Unix(0, 0).UTC(), time.Unix(math.MaxUint32, 0).UTC()
		}},
		{"one second window", func(c *Card) { c.ExpiresAt = c.IssuedAt.Add(time.Second) }},
		{"id all ones", func(c *Card) { c.CardID = [16]byte{0: 1} }},
		{"id all 0xff", func(c *Card) {
			for i := range c.CardID {
				c.CardID[i] = 0xff
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := vectorCard()
			tt.modify(&want)
			sp := mustSignCard(t, want)
			code := CardCode(sp, "012345")
			p, err := Parse(code)
			if err != nil {
				t.Fatalf("Parse(%q): %v", code, err)
			}
			if p.Kind != KindCard || p.Card == nil || p.Guest != nil {
				t.Fatalf("kind %v, card %v, guest %v", p.Kind, p.Card, p.Guest)
			}
			if !cardsEqual(*p.Card, want) {
				t.Errorf("parsed %+v, want %+v", *p.Card, want)
			}
			if p.KeyID != want.KeyID || p.TOTP != "012345" || p.SignedPart != sp {
				t.Errorf("key id %x, totp %q, signed part %q", p.KeyID, p.TOTP, p.SignedPart)
			}
			if !p.VerifySignature(pubOf(vectorKey())) {
				t.Error("signature does not verify")
			}
			if got := reencode(t, p); got != code {
				t.Errorf("re-encoded %q, want %q", got, code)
			}
		})
	}
}

func TestGuestRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*GuestPass)
	}{
		{"vector", func(*GuestPass) {}},
		{"max uses one", func(g *GuestPass) { g.MaxUses = 1 }},
		{"max uses max", func(g *GuestPass) { g.MaxUses = math.MaxUint16 }},
		{"party one", func(g *GuestPass) { g.PartySize = 1 }},
		{"party max", func(g *GuestPass) { g.PartySize = math.MaxUint8 }},
		{"widest window", func(g *GuestPass) {
			g.ValidFrom, g.ValidUntil = time.Unix(0, 0).UTC(), time.Unix(math.MaxUint32, 0).UTC()
		}},
		{"one second window", func(g *GuestPass) { g.ValidUntil = g.ValidFrom.Add(time.Second) }},
		{"pass id equals host id", func(g *GuestPass) { g.PassID = g.HostCardID }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := vectorGuest()
			tt.modify(&want)
			code := mustSignGuest(t, want)
			p, err := Parse(code)
			if err != nil {
				t.Fatalf("Parse(%q): %v", code, err)
			}
			if p.Kind != KindGuest || p.Guest == nil || p.Card != nil || p.TOTP != "" {
				t.Fatalf("kind %v, card %v, guest %v, totp %q", p.Kind, p.Card, p.Guest, p.TOTP)
			}
			if !guestsEqual(*p.Guest, want) {
				t.Errorf("parsed %+v, want %+v", *p.Guest, want)
			}
			if p.KeyID != want.KeyID || Prefix+"G"+p.SignedPart != code {
				t.Errorf("key id %x, signed part %q", p.KeyID, p.SignedPart)
			}
			if !p.VerifySignature(pubOf(vectorKey())) {
				t.Error("signature does not verify")
			}
			if got := reencode(t, p); got != code {
				t.Errorf("re-encoded %q, want %q", got, code)
			}
		})
	}
}

func TestSubSecondTimesAreTruncated(t *testing.T) {
	c := vectorCard()
	c.IssuedAt = c.IssuedAt.Add(999 * time.Millisecond)
	p, err := Parse(CardCode(mustSignCard(t, c), "000000"))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Card.IssuedAt.Equal(vectorTime) || p.Card.IssuedAt.Location() != time.UTC {
		t.Errorf("issued at %v, want %v in UTC", p.Card.IssuedAt, vectorTime)
	}
}

func TestParseTrimsScannerWhitespaceOnly(t *testing.T) {
	code := CardCode(mustSignCard(t, vectorCard()), "123456")
	for _, in := range []string{code, " " + code, code + "\r\n", "\t\r\n " + code + " \n\n"} {
		p, err := Parse(in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if reencode(t, p) != code {
			t.Errorf("Parse(%q) re-encodes differently", in)
		}
	}
}

func TestSignRejectsInvalidCard(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Card)
	}{
		{"zero card id", func(c *Card) { c.CardID = [16]byte{} }},
		{"empty tier", func(c *Card) { c.Tier = "" }},
		{"tier too long", func(c *Card) { c.Tier = strings.Repeat("a", MaxTierLen+1) }},
		{"tier uppercase", func(c *Card) { c.Tier = "Gold" }},
		{"tier space", func(c *Card) { c.Tier = "a b" }},
		{"tier dot", func(c *Card) { c.Tier = "a.b" }},
		{"tier non ascii", func(c *Card) { c.Tier = "café" }},
		{"expiry before issue", func(c *Card) { c.ExpiresAt = c.IssuedAt.Add(-time.Second) }},
		{"expiry equals issue", func(c *Card) { c.ExpiresAt = c.IssuedAt }},
		{"zero issued time", func(c *Card) { c.IssuedAt = time.Time{} }},
		{"issued before 1970", func(c *Card) { c.IssuedAt = time.Unix(-1, 0) }},
		{"expiry after 2106", func(c *Card) { c.ExpiresAt = time.Unix(math.MaxUint32+1, 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := vectorCard()
			tt.modify(&c)
			if sp, err := SignCard(vectorKey(), c); !errors.Is(err, ErrFormat) {
				t.Errorf("SignCard = %q, %v; want ErrFormat", sp, err)
			}
		})
	}
}

func TestSignRejectsInvalidGuest(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*GuestPass)
	}{
		{"zero pass id", func(g *GuestPass) { g.PassID = [16]byte{} }},
		{"zero host card id", func(g *GuestPass) { g.HostCardID = [16]byte{} }},
		{"max uses zero", func(g *GuestPass) { g.MaxUses = 0 }},
		{"party size zero", func(g *GuestPass) { g.PartySize = 0 }},
		{"until before from", func(g *GuestPass) { g.ValidUntil = g.ValidFrom.Add(-time.Hour) }},
		{"until equals from", func(g *GuestPass) { g.ValidUntil = g.ValidFrom }},
		{"zero from", func(g *GuestPass) { g.ValidFrom = time.Time{} }},
		{"until after 2106", func(g *GuestPass) { g.ValidUntil = time.Unix(math.MaxUint32+1, 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := vectorGuest()
			tt.modify(&g)
			if code, err := SignGuestPass(vectorKey(), g); !errors.Is(err, ErrFormat) {
				t.Errorf("SignGuestPass = %q, %v; want ErrFormat", code, err)
			}
		})
	}
}

func TestSignRejectsUnusableKey(t *testing.T) {
	tests := []struct {
		name  string
		priv  ed25519.PrivateKey
		keyID [8]byte
	}{
		{"key id of another key", vectorKey(), KeyIDOf(pubOf(otherKey()))},
		{"zero key id", vectorKey(), [8]byte{}},
		{"nil key", nil, KeyIDOf(pubOf(vectorKey()))},
		{"seed instead of key", ed25519.PrivateKey(vectorSeed()), KeyIDOf(pubOf(vectorKey()))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := vectorCard()
			c.KeyID = tt.keyID
			if _, err := SignCard(tt.priv, c); !errors.Is(err, ErrKey) {
				t.Errorf("SignCard: %v, want ErrKey", err)
			}
			g := vectorGuest()
			g.KeyID = tt.keyID
			if _, err := SignGuestPass(tt.priv, g); !errors.Is(err, ErrKey) {
				t.Errorf("SignGuestPass: %v, want ErrKey", err)
			}
		})
	}
}

// rawCardCode signs the vector card's message after edit, bypassing SignCard's
// checks, so Parse can be shown to refuse what SignCard would never make.
func rawCardCode(edit func(msg []byte) []byte) string {
	c := vectorCard()
	return CardCode(signRaw(vectorKey(), edit(appendCardMessage(nil, &c))), "123456")
}

// rawGuestCode is rawCardCode for guest passes.
func rawGuestCode(edit func(msg []byte) []byte) string {
	g := vectorGuest()
	return Prefix + "G" + signRaw(vectorKey(), edit(appendGuestMessage(nil, &g)))
}

// withTier replaces the tier of a card message, length byte included.
func withTier(tier string) func([]byte) []byte {
	return func(msg []byte) []byte {
		msg = append(msg[:cardFixedLen], tier...)
		msg[35] = byte(len(tier))
		return msg
	}
}

// setByte returns an edit that sets msg[i] = v.
func setByte(i int, v byte) func([]byte) []byte {
	return func(msg []byte) []byte { msg[i] = v; return msg }
}

// copyBytes returns an edit that copies src over msg at offset i.
func copyBytes(i int, src ...byte) func([]byte) []byte {
	return func(msg []byte) []byte { copy(msg[i:], src); return msg }
}

// replaceAt replaces the text at offset i with repl.
func replaceAt(s string, i int, repl string) string {
	return s[:i] + repl + s[i+len(repl):]
}

// lowerFirstLetter lowercases the first letter at or after offset from.
func lowerFirstLetter(s string, from int) string {
	i := from + strings.IndexFunc(s[from:], func(r rune) bool { return r >= 'A' && r <= 'Z' })
	return replaceAt(s, i, strings.ToLower(s[i:i+1]))
}

func TestParseRejectsMalformed(t *testing.T) {
	sp := mustSignCard(t, vectorCard())
	card := CardCode(sp, "123456")
	guest := mustSignGuest(t, vectorGuest())
	oddCard := vectorCard()
	oddCard.Tier = "premium" // 107-byte body: ends in a pair

	tests := []struct{ name, code string }{
		{"empty", ""},
		{"whitespace only", " \r\n\t"},
		{"prefix only", "AP1:"},
		{"prefix and kind only", "AP1:C"},
		{"guest prefix only", "AP1:G"},
		{"wrong format version", "AP2:" + card[4:]},
		{"lowercase prefix", "ap1:" + card[4:]},
		{"missing colon", "AP1C" + card[5:]},
		{"lowercase card letter", "AP1:c" + card[5:]},
		{"lowercase guest letter", "AP1:g" + guest[5:]},
		{"unknown kind letter", "AP1:X" + card[5:]},
		{"card body under guest letter", "AP1:G" + sp},
		{"guest body under card letter", "AP1:C123456" + guest[5:]},
		{"kind byte G in card code", rawCardCode(setByte(1, 'G'))},
		{"kind byte C in guest code", rawGuestCode(setByte(1, 'C'))},
		{"17-byte-tier card message as guest", "AP1:G" + rawCardCode(withTier(strings.Repeat("a", 17)))[11:]},
		{"card message version 2", rawCardCode(setByte(0, 2))},
		{"guest message version 0", rawGuestCode(setByte(0, 0))},
		{"totp five digits", "AP1:C12345" + sp},
		{"totp seven digits", "AP1:C1234567" + sp},
		{"totp with letter", "AP1:C12345A" + sp},
		{"totp with space", "AP1:C12 456" + sp},
		{"totp with colon", "AP1:C12345:" + sp},
		{"card truncated by one char", card[:len(card)-1]},
		{"card truncated by two chars", card[:len(card)-2]},
		{"card truncated by three chars", card[:len(card)-3]},
		{"card truncated to header", card[:cardHeaderLen]},
		{"guest truncated by one char", guest[:len(guest)-1]},
		{"guest truncated by two chars", guest[:len(guest)-2]},
		{"card extra char", card + "0"},
		{"card extra byte", card + "00"},
		{"card extra two bytes", card + "000"},
		{"guest extra byte", guest + "00"},
		{"guest extra two bytes", guest + "000"},
		{"card trailing NUL", card + "\x00"},
		{"card trailing non-breaking space", card + "\u00a0"},
		{"card leading non-breaking space", "\u00a0" + card},
		{"card leading byte order mark", "\ufeff" + card},
		{"two codes", card + " " + card},
		{"bad base45 char hash", replaceAt(card, 20, "#")},
		{"bad base45 char underscore", replaceAt(card, 20, "_")},
		{"bad base45 char tab", replaceAt(card, 20, "\t")},
		{"bad base45 char newline", replaceAt(card, 20, "\n")},
		{"card lowercase base45", lowerFirstLetter(card, cardHeaderLen)},
		{"guest lowercase base45", lowerFirstLetter(guest, guestHeaderLen)},
		{"triplet over 65535", replaceAt(card, cardHeaderLen+3, "GGW")},
		{"guest final pair over 255", guest[:len(guest)-2] + "V5"},
		{"card final pair over 255", CardCode(mustSignCard(t, oddCard), "123456")[:cardHeaderLen+159] + "V5"},
		{"tier length byte too big", rawCardCode(setByte(35, 9))},
		{"tier length byte too small", rawCardCode(setByte(35, 7))},
		{"tier length zero", rawCardCode(withTier(""))},
		{"tier too long", rawCardCode(withTier(strings.Repeat("a", MaxTierLen+1)))},
		{"tier uppercase", rawCardCode(withTier("Standard"))},
		{"tier space", rawCardCode(withTier("gold plus"))},
		{"tier dot", rawCardCode(withTier("v1.0"))},
		{"tier non ascii", rawCardCode(withTier("café"))},
		{"tier NUL", rawCardCode(withTier("a\x00"))},
		{"card id zero", rawCardCode(copyBytes(10, make([]byte, 16)...))},
		{"expiry before issue", rawCardCode(copyBytes(30, 0x69, 0x55, 0xb8, 0xff))},
		{"expiry equals issue", rawCardCode(copyBytes(30, 0x69, 0x55, 0xb9, 0x00))},
		{"expiry zero", rawCardCode(copyBytes(30, 0, 0, 0, 0))},
		{"pass id zero", rawGuestCode(copyBytes(10, make([]byte, 16)...))},
		{"host card id zero", rawGuestCode(copyBytes(26, make([]byte, 16)...))},
		{"valid until before from", rawGuestCode(copyBytes(46, 0x69, 0x55, 0xb8, 0xff))},
		{"valid until equals from", rawGuestCode(copyBytes(46, 0x69, 0x55, 0xb9, 0x00))},
		{"max uses zero", rawGuestCode(copyBytes(50, 0, 0))},
		{"party size zero", rawGuestCode(setByte(52, 0))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.code)
			if !errors.Is(err, ErrFormat) {
				t.Errorf("Parse(%q) = %+v, %v; want ErrFormat", tt.code, p, err)
			}
			t.Log(err)
			if p != nil {
				t.Errorf("Parse returned %+v with an error", p)
			}
		})
	}
}

func TestVectorTimeBytes(t *testing.T) {
	// The malformed-time cases above write 0x6955b900 (vectorTime) by hand.
	if got := uint32(vectorTime.Unix()); got != 0x6955b900 {
		t.Fatalf("vectorTime = %#x", got)
	}
}

func TestVerifySignatureRejectsEveryBitFlip(t *testing.T) {
	codes := map[string]string{
		"card":  CardCode(mustSignCard(t, vectorCard()), "123456"),
		"guest": mustSignGuest(t, vectorGuest()),
	}
	pub := pubOf(vectorKey())
	for name, code := range codes {
		t.Run(name, func(t *testing.T) {
			p, err := Parse(code)
			if err != nil {
				t.Fatal(err)
			}
			if !p.VerifySignature(pub) {
				t.Fatal("unmodified code does not verify")
			}
			for i := range p.bodyLen {
				for bit := range 8 {
					q := *p
					q.body[i] ^= 1 << bit
					if q.VerifySignature(pub) {
						t.Errorf("flip of byte %d bit %d still verifies", i, bit)
					}
				}
			}
		})
	}
}

func TestVerifySignatureRejectsWrongKey(t *testing.T) {
	code := mustSignGuest(t, vectorGuest())
	p, err := Parse(code)
	if err != nil {
		t.Fatal(err)
	}
	other := pubOf(otherKey())
	tests := []struct {
		name string
		pub  ed25519.PublicKey
	}{
		{"other key", other},
		{"nil key", nil},
		{"short key", pubOf(vectorKey())[:31]},
		{"private key bytes", ed25519.PublicKey(vectorKey())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p.VerifySignature(tt.pub) {
				t.Error("verifies")
			}
		})
	}

	t.Run("signed by a key other than the one named", func(t *testing.T) {
		g := vectorGuest()
		forged := Prefix + "G" + signRaw(otherKey(), appendGuestMessage(nil, &g))
		p, err := Parse(forged)
		if err != nil {
			t.Fatal(err)
		}
		if p.VerifySignature(pubOf(vectorKey())) || p.VerifySignature(other) {
			t.Error("verifies")
		}
	})
	t.Run("nil and zero Parsed", func(t *testing.T) {
		var nilParsed *Parsed
		if nilParsed.VerifySignature(pubOf(vectorKey())) || new(Parsed).VerifySignature(pubOf(vectorKey())) {
			t.Error("verifies")
		}
	})
}

func TestKeyID(t *testing.T) {
	pub := pubOf(vectorKey())
	id := KeyIDOf(pub)
	s := KeyIDString(id)
	if len(s) != 16 || strings.ToLower(s) != s {
		t.Fatalf("KeyIDString = %q", s)
	}
	got, err := ParseKeyID(s)
	if err != nil || got != id {
		t.Fatalf("ParseKeyID(%q) = %x, %v", s, got, err)
	}
	for _, bad := range []string{"", s[:15], s + "0", strings.ToUpper(s), "g" + s[1:], " " + s[1:], "0x" + s[2:]} {
		if _, err := ParseKeyID(bad); !errors.Is(err, ErrFormat) {
			t.Errorf("ParseKeyID(%q): %v, want ErrFormat", bad, err)
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindCard: "card", KindGuest: "guest", Kind('X'): "Kind(0x58)"} {
		if got := k.String(); got != want {
			t.Errorf("%c.String() = %q, want %q", byte(k), got, want)
		}
	}
}

// cardsEqual compares cards, times by instant.
func cardsEqual(a, b Card) bool {
	return a.KeyID == b.KeyID && a.CardID == b.CardID && a.IssuedAt.Equal(b.IssuedAt) &&
		a.ExpiresAt.Equal(b.ExpiresAt) && a.Companions == b.Companions && a.Tier == b.Tier
}

// guestsEqual compares guest passes, times by instant.
func guestsEqual(a, b GuestPass) bool {
	return a.KeyID == b.KeyID && a.PassID == b.PassID && a.HostCardID == b.HostCardID &&
		a.ValidFrom.Equal(b.ValidFrom) && a.ValidUntil.Equal(b.ValidUntil) &&
		a.MaxUses == b.MaxUses && a.PartySize == b.PartySize
}

func TestEverySingleCharacterChangeFailsVerification(t *testing.T) {
	// Replace each character after the prefix with every other base45
	// character: whatever still parses must not verify, except a change of
	// the TOTP digits, which are not signed.
	pub := pubOf(vectorKey())
	codes := map[string]string{
		"card":  CardCode(mustSignCard(t, vectorCard()), "123456"),
		"guest": mustSignGuest(t, vectorGuest()),
	}
	for name, code := range codes {
		t.Run(name, func(t *testing.T) {
			parsed := 0
			for i := guestHeaderLen; i < len(code); i++ {
				for j := 0; j < len(base45Alphabet); j++ {
					if base45Alphabet[j] == code[i] {
						continue
					}
					p, err := Parse(replaceAt(code, i, base45Alphabet[j:j+1]))
					if err != nil {
						continue
					}
					parsed++
					isTOTP := p.Kind == KindCard && i < cardHeaderLen
					if p.VerifySignature(pub) != isTOTP {
						t.Errorf("change at %d to %q: verifies = %v", i, base45Alphabet[j], !isTOTP)
					}
				}
			}
			if parsed == 0 {
				t.Error("no change parsed; the test proves nothing")
			}
			t.Logf("%d single-character changes parsed; only TOTP digit changes verified", parsed)
		})
	}
}

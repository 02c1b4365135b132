package credential

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// vectorsV2Marker precedes the version 2 vector block in formatDoc.
const vectorsV2Marker = "<!-- test-vectors-v2: checked by internal/credential/v2_test.go -->"

// vectorDeviceD is the device's P-256 private scalar of the v2 vectors:
// bytes 0x40..0x5f.
func vectorDeviceD() []byte {
	d := make([]byte, 32)
	for i := range d {
		d[i] = 0x40 + byte(i)
	}
	return d
}

// vectorDevice returns the device key of the v2 vectors.
func vectorDevice(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), vectorDeviceD())
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// compressedOf returns the compressed public key of a device key.
func compressedOf(tb testing.TB, k *ecdsa.PrivateKey) [DeviceKeySize]byte {
	tb.Helper()
	raw, err := k.PublicKey.Bytes()
	if err != nil {
		tb.Fatal(err)
	}
	c, err := CompressDeviceKey(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// vectorCardV2 is the card of the v2 vectors: the v1 vector card bound to
// the vector device key.
func vectorCardV2(tb testing.TB) CardV2 {
	return CardV2{Card: vectorCard(), DeviceKey: compressedOf(tb, vectorDevice(tb))}
}

// mustCodeV2 signs c with the vector key and makes its code at t with dev.
func mustCodeV2(tb testing.TB, c CardV2, dev *ecdsa.PrivateKey, t time.Time) string {
	tb.Helper()
	sp, err := SignCardV2(vectorKey(), c)
	if err != nil {
		tb.Fatalf("SignCardV2: %v", err)
	}
	step := StepOf(t)
	sig, err := SignStep(dev, c.CardID, step, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return CardCodeV2(sp, step, sig)
}

// reencodeV2 rebuilds the code text from the parsed fields.
func reencodeV2(tb testing.TB, p *ParsedV2) string {
	tb.Helper()
	msg := appendCardV2Message(nil, &p.Card)
	if string(msg) != string(p.message()) {
		tb.Fatalf("fields re-encode to %x, parsed message %x", msg, p.message())
	}
	return CardCodeV2(string(appendBase45(nil, append(msg, p.signature()...))), p.Step, p.DeviceSig)
}

func TestV2RoundTrip(t *testing.T) {
	dev := vectorDevice(t)
	c := vectorCardV2(t)
	code := mustCodeV2(t, c, dev, vectorTime)
	p, err := ParseV2(" " + code + "\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if p.Card != c || p.Step != StepOf(vectorTime) || p.KeyID != c.KeyID {
		t.Fatalf("parsed %+v step %d", p.Card, p.Step)
	}
	if !p.VerifySignature(pubOf(vectorKey())) || p.VerifySignature(pubOf(otherKey())) {
		t.Error("issuer signature check wrong")
	}
	if !p.VerifyDevice() {
		t.Error("device signature does not verify")
	}
	if got := reencodeV2(t, p); got != code {
		t.Errorf("re-encodes to %q", got)
	}
	if off := p.StepOffset(vectorTime.Add(95 * time.Second)); off != -3 {
		t.Errorf("StepOffset = %d, want -3", off)
	}
	// A randomised (hedged) signature, as WebCrypto makes, verifies too.
	sig, err := SignStep(dev, c.CardID, 7, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := ParseV2(CardCodeV2(p.SignedPart, 7, sig))
	if err != nil || !p2.VerifyDevice() {
		t.Fatalf("random signature: %v", err)
	}
}

// TestV2DeviceSignatureBindsStepAndCard: a signature made for one step, or
// by another device, or for another card, does not verify; this is what
// makes a screenshot go stale offline and a copied wallet useless.
func TestV2DeviceSignatureBindsStepAndCard(t *testing.T) {
	dev := vectorDevice(t)
	c := vectorCardV2(t)
	sp, err := SignCardV2(vectorKey(), c)
	if err != nil {
		t.Fatal(err)
	}
	step := StepOf(vectorTime)
	good, _ := SignStep(dev, c.CardID, step, nil)
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	byOther, _ := SignStep(other, c.CardID, step, nil)
	otherCard, _ := SignStep(dev, seqID(0xc0), step, nil)
	tests := []struct {
		name string
		step uint32
		sig  [DeviceSignatureSize]byte
		want bool
	}{
		{"live", step, good, true},
		{"replayed at the next step", step + 1, good, false},
		{"signed by another device", step, byOther, false},
		{"signed for another card", step, otherCard, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseV2(CardCodeV2(sp, tt.step, tt.sig))
			if err != nil {
				t.Fatal(err)
			}
			if p.VerifyDevice() != tt.want {
				t.Errorf("VerifyDevice = %v, want %v", !tt.want, tt.want)
			}
			if !p.VerifySignature(pubOf(vectorKey())) {
				t.Error("issuer signature must still verify")
			}
		})
	}
}

func TestParseV2Strict(t *testing.T) {
	dev := vectorDevice(t)
	c := vectorCardV2(t)
	code := mustCodeV2(t, c, dev, vectorTime)
	live := code[v2HeaderLen : v2HeaderLen+V2LivePartLen]
	signed := code[v2HeaderLen+V2LivePartLen:]
	liveWith := func(step uint32, sig []byte) string {
		b := binary.BigEndian.AppendUint32(nil, step)
		return string(appendBase45(nil, append(b, sig...)))
	}
	validSig := mustDecode(t, live)[4:]
	n := elliptic.P256().Params().N.FillBytes(make([]byte, 32))
	msg := appendCardV2Message(nil, &c)
	badPoint := append([]byte(nil), msg...)
	badPoint[35] = 0x04 // not a compressed prefix
	offCurve := append([]byte(nil), msg...)
	copy(offCurve[36:68], strings.Repeat("\xff", 32)) // x >= p
	v1Version := append([]byte(nil), msg...)
	v1Version[0] = 0x01
	guestKind := append([]byte(nil), msg...)
	guestKind[1] = 'G'
	tierLen := append([]byte(nil), msg...)
	tierLen[68]++
	zeroID := append([]byte(nil), msg...)
	copy(zeroID[10:26], make([]byte, 16))
	resign := func(m []byte) string { return signRaw(vectorKey(), m) }
	pre := PrefixV2 + "C"
	tests := []struct{ name, code string }{
		{"empty", ""},
		{"v1 prefix", "AP1:C" + live + signed},
		{"lower case prefix", "ap2:C" + live + signed},
		{"guest kind letter", PrefixV2 + "G" + live + signed},
		{"lower case body", pre + live + strings.ToLower(signed)},
		{"truncated", code[:len(code)-1]},
		{"extra character", code + "0"},
		{"extra pair", code + "00"},
		{"space inside", pre + live + " " + signed},
		{"live part short", pre + live[:V2LivePartLen-3] + signed},
		{"r is zero", pre + liveWith(1, append(make([]byte, 32), validSig[32:]...)) + signed},
		{"s is n", pre + liveWith(1, append(append([]byte(nil), validSig[:32]...), n...)) + signed},
		{"device key prefix 04", pre + live + resign(badPoint)},
		{"device key off the curve", pre + live + resign(offCurve)},
		{"version byte 1", pre + live + resign(v1Version)},
		{"kind byte G", pre + live + resign(guestKind)},
		{"tier length wrong", pre + live + resign(tierLen)},
		{"card id zero", pre + live + resign(zeroID)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseV2(tt.code)
			if err == nil || p != nil || !errors.Is(err, ErrFormat) {
				t.Fatalf("ParseV2 = %v, %v; want ErrFormat", p, err)
			}
		})
	}
	if _, err := Parse(code); err == nil {
		t.Error("the v1 parser accepts a v2 code")
	}
	if !IsV2("\r\n"+code) || IsV2(CardCode(mustSignCard(t, vectorCard()), "123456")) {
		t.Error("IsV2 wrong")
	}
}

func mustDecode(tb testing.TB, text string) []byte {
	tb.Helper()
	n, ok := base45DecodedLen(len(text))
	if !ok {
		tb.Fatalf("length %d", len(text))
	}
	b := make([]byte, n)
	if err := decodeBase45(b, text); err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestSignCardV2Refuses(t *testing.T) {
	c := vectorCardV2(t)
	c.DeviceKey[0] = 4
	if _, err := SignCardV2(vectorKey(), c); !errors.Is(err, ErrFormat) {
		t.Errorf("bad device key: %v", err)
	}
	c = vectorCardV2(t)
	if _, err := SignCardV2(otherKey(), c); !errors.Is(err, ErrKey) {
		t.Errorf("wrong signer: %v", err)
	}
	if _, err := CompressDeviceKey(make([]byte, 65)); !errors.Is(err, ErrFormat) {
		t.Errorf("zero point: %v", err)
	}
}

func TestV2CodesQRVersion(t *testing.T) {
	dev := vectorDevice(t)
	tests := []struct {
		tier        string
		wantLen     int
		wantVersion int
	}{
		{"a", 308, 10},
		{"standard", 319, 11},
		{strings.Repeat("z", MaxTierLen), 331, 11},
	}
	for _, tt := range tests {
		c := vectorCardV2(t)
		c.Tier = tt.tier
		code := mustCodeV2(t, c, dev, vectorTime)
		if i := strings.IndexFunc(code, func(r rune) bool { return !strings.ContainsRune(qrAlphanumeric, r) }); i >= 0 {
			t.Errorf("tier %q: character %q at %d is not QR alphanumeric", tt.tier, code[i], i)
		}
		v := qrVersionM(t, code)
		if len(code) != tt.wantLen || v != tt.wantVersion {
			t.Errorf("tier %q: %d chars, QR version %d-M; want %d, %d (update docs/credential-format.md)",
				tt.tier, len(code), v, tt.wantLen, tt.wantVersion)
		}
	}
}

// computeVectorsV2 produces the version 2 test vectors from the code.
func computeVectorsV2(t *testing.T) []vectorLine {
	t.Helper()
	dev := vectorDevice(t)
	c := vectorCardV2(t)
	sp, err := SignCardV2(vectorKey(), c)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseV2(mustCodeV2(t, c, dev, vectorTime))
	if err != nil {
		t.Fatal(err)
	}
	rfc := func(tm time.Time) string { return tm.UTC().Format(time.RFC3339) }
	v := []vectorLine{
		{"v2.device_private_d", hex.EncodeToString(vectorDeviceD())},
		{"v2.device_public_key", hex.EncodeToString(c.DeviceKey[:])},
		{"v2.card.message", hex.EncodeToString(p.message())},
		{"v2.card.signature", hex.EncodeToString(p.signature())},
		{"v2.card.signed_part", sp},
	}
	var first string
	for _, d := range []time.Duration{0, 29 * time.Second, 30 * time.Second} {
		tm := vectorTime.Add(d)
		step := StepOf(tm)
		sig, err := SignStep(dev, c.CardID, step, nil)
		if err != nil {
			t.Fatal(err)
		}
		code := CardCodeV2(sp, step, sig)
		if first == "" {
			first = code
		}
		v = append(v,
			vectorLine{"v2.step@" + rfc(tm), strconv.FormatUint(uint64(step), 10)},
			vectorLine{"v2.device_signed@" + rfc(tm), hex.EncodeToString(DeviceSignedBytes(c.CardID, step))},
			vectorLine{"v2.device_signature@" + rfc(tm), hex.EncodeToString(sig[:])},
			vectorLine{"v2.card.code@" + rfc(tm), code},
		)
	}
	return append(v,
		vectorLine{"v2.card.code_length", strconv.Itoa(len(first))},
		vectorLine{"v2.card.qr_version_m", strconv.Itoa(qrVersionM(t, first))},
	)
}

func TestFormatDocVectorsV2(t *testing.T) {
	want := computeVectorsV2(t)
	var block strings.Builder
	for _, l := range want {
		fmt.Fprintf(&block, "%-36s %s\n", l.name, l.value)
	}
	got, err := readDocVectorsAfter(formatDoc, vectorsV2Marker)
	if err != nil {
		t.Fatalf("%v\nexpected block:\n%s", err, block.String())
	}
	if len(got) != len(want) {
		t.Errorf("doc has %d v2 vectors, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Errorf("doc vector %d:\n got %s %q\nwant %s %q", i, got[i].name, got[i].value, want[i].name, want[i].value)
		}
	}
	if t.Failed() {
		t.Logf("expected block:\n%s", block.String())
	}
}

// TestDocVectorsV2Verify checks the documented v2 codes independently of
// computeVectorsV2: they parse, the issuer key of the v1 block verifies them,
// the documented device key signed their step, and the step is the time's.
func TestDocVectorsV2Verify(t *testing.T) {
	v1, err := readDocVectors(formatDoc)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := readDocVectorsAfter(formatDoc, vectorsV2Marker)
	if err != nil {
		t.Fatal(err)
	}
	doc := map[string]string{}
	for _, l := range append(v1, v2...) {
		doc[l.name] = l.value
	}
	pub, _ := hex.DecodeString(doc["ed25519_public_key"])
	n := 0
	for name, code := range doc {
		at, ok := strings.CutPrefix(name, "v2.card.code@")
		if !ok {
			continue
		}
		n++
		tm, err := time.Parse(time.RFC3339, at)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParseV2(code)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !p.VerifySignature(pub) || !p.VerifyDevice() || p.StepOffset(tm) != 0 {
			t.Errorf("%s: issuer %v device %v offset %d", name, p.VerifySignature(pub), p.VerifyDevice(), p.StepOffset(tm))
		}
		if hex.EncodeToString(p.Card.DeviceKey[:]) != doc["v2.device_public_key"] {
			t.Errorf("%s: device key differs from the documented one", name)
		}
	}
	if n == 0 {
		t.Error("no v2 codes in the document")
	}
}

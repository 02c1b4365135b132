package credential

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/binary"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"
)

// Format version 2: the device-bound card.
//
// A version 2 card is signed by the issuer together with the public half of
// an ECDSA P-256 key that the member's phone made at enrolment and cannot
// export. Its live code carries the current 30-s step and the device's
// signature over that step, so that anyone with keys.json can check
// freshness offline, and a copy of the wallet's data without the key cannot
// make codes:
//
//	"AP2:C" + base45(step || device signature) + base45(card message || issuer signature)
//
// The live part comes first and has a fixed length (V2LivePartLen
// characters), as the TOTP does in version 1, so that the wallet appends
// the signed part it got at enrolment unchanged. docs/credential-format.md,
// section 12, is the normative description.
const (
	// PrefixV2 starts every version 2 code.
	PrefixV2 = "AP2:"
	// DeviceKeySize is the size of a compressed P-256 public key (SEC 1).
	DeviceKeySize = 33
	// DeviceSignatureSize is the size of a raw ECDSA P-256 signature, r || s,
	// as WebCrypto produces it.
	DeviceSignatureSize = 64
	// DeviceSignaturePrefix separates the device's signatures over steps from
	// anything else the key might ever sign.
	DeviceSignaturePrefix = "alumnipass/v2/step"
	// V2LivePartLen is the length in characters of the live part of a v2 code.
	V2LivePartLen = 102

	formatVersion2  = 0x02
	v2CardFixedLen  = 69 // card message without the tier bytes
	v2LiveLen       = 4 + DeviceSignatureSize
	v2MinBodyLen    = v2CardFixedLen + 1 + signatureLen
	v2MaxBodyLen    = v2CardFixedLen + MaxTierLen + signatureLen
	v2HeaderLen     = len(PrefixV2) + 1
	v2MinSignedText = (v2MinBodyLen/2)*3 + (v2MinBodyLen%2)*2
)

// CardV2 is what a version 2 card asserts: a version 1 card plus the device
// key that must sign every live code.
type CardV2 struct {
	Card
	DeviceKey [DeviceKeySize]byte // compressed P-256 public key of the wallet
}

// CompressDeviceKey returns the 33-byte compressed form of a P-256 public
// key given uncompressed (65 bytes, 0x04 || X || Y, as WebCrypto exports it
// in "raw" form) or already compressed. The point is checked to be on the
// curve.
func CompressDeviceKey(raw []byte) ([DeviceKeySize]byte, error) {
	var out [DeviceKeySize]byte
	switch {
	case len(raw) == DeviceKeySize:
		copy(out[:], raw)
	case len(raw) == 65 && raw[0] == 4:
		out[0] = 2 | raw[64]&1
		copy(out[1:], raw[1:33])
	default:
		return out, fmt.Errorf("device key of %d bytes: want a P-256 point: %w", len(raw), ErrFormat)
	}
	if _, err := deviceKey(out); err != nil {
		return out, err
	}
	return out, nil
}

// deviceKey decodes a compressed P-256 key, refusing points off the curve.
func deviceKey(b [DeviceKeySize]byte) (*ecdsa.PublicKey, error) {
	if b[0] != 2 && b[0] != 3 {
		return nil, fmt.Errorf("device key prefix %#02x: want 02 or 03: %w", b[0], ErrFormat)
	}
	x, y := elliptic.UnmarshalCompressed(elliptic.P256(), b[:])
	if x == nil {
		return nil, fmt.Errorf("device key is not a P-256 point: %w", ErrFormat)
	}
	raw := make([]byte, 65)
	raw[0] = 4
	x.FillBytes(raw[1:33])
	y.FillBytes(raw[33:])
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		return nil, fmt.Errorf("device key: %v: %w", err, ErrFormat)
	}
	return pub, nil
}

// SignCardV2 signs c and returns its signed part: the base45 text that
// follows the live part in every code of the card (see CardCodeV2).
// c.KeyID must be the id of priv's public key; c.DeviceKey must be a P-256
// point.
func SignCardV2(priv ed25519.PrivateKey, c CardV2) (signedPart string, err error) {
	if err := checkSigner(priv, c.KeyID); err != nil {
		return "", fmt.Errorf("sign card v2: %w", err)
	}
	if err := c.validate(); err != nil {
		return "", fmt.Errorf("sign card v2: %w", err)
	}
	return signBody(priv, appendCardV2Message(make([]byte, 0, v2MaxBodyLen), &c)), nil
}

// validate checks the fields a v2 card message can carry; ParseV2 runs it.
func (c *CardV2) validate() error {
	if err := c.Card.validate(); err != nil {
		return err
	}
	_, err := deviceKey(c.DeviceKey)
	return err
}

// appendCardV2Message appends the signed bytes of a validated v2 card.
func appendCardV2Message(dst []byte, c *CardV2) []byte {
	dst = append(dst, formatVersion2, byte(KindCard))
	dst = append(dst, c.KeyID[:]...)
	dst = append(dst, c.CardID[:]...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(c.IssuedAt.Unix()))
	dst = binary.BigEndian.AppendUint32(dst, uint32(c.ExpiresAt.Unix()))
	dst = append(dst, c.Companions)
	dst = append(dst, c.DeviceKey[:]...)
	dst = append(dst, byte(len(c.Tier)))
	return append(dst, c.Tier...)
}

// StepOf returns the 30-s step of t (floor of Unix seconds / 30), the one
// the device signs. Steps before 1970 or after 2106 are clamped.
func StepOf(t time.Time) uint32 {
	s := totpStep(t)
	return uint32(min(max(s, 0), int64(^uint32(0))))
}

// StepTime returns the start of a step.
func StepTime(step uint32) time.Time {
	return time.Unix(int64(step)*int64(TOTPPeriod/time.Second), 0).UTC()
}

// DeviceSignedBytes returns what the device signs for a step: the ASCII
// DeviceSignaturePrefix, the 16 card id bytes and the step as a big-endian
// uint32. The signature is ECDSA P-256 with SHA-256 over these bytes.
func DeviceSignedBytes(cardID [16]byte, step uint32) []byte {
	b := make([]byte, 0, len(DeviceSignaturePrefix)+16+4)
	b = append(b, DeviceSignaturePrefix...)
	b = append(b, cardID[:]...)
	return binary.BigEndian.AppendUint32(b, step)
}

// SignStep returns the device's raw signature (r || s) over a step, as the
// wallet computes it with WebCrypto. Go clients and tests use it; a nil
// random gives the deterministic signature of RFC 6979 (the test vectors).
func SignStep(device *ecdsa.PrivateKey, cardID [16]byte, step uint32, random io.Reader) ([DeviceSignatureSize]byte, error) {
	var out [DeviceSignatureSize]byte
	sum := sha256.Sum256(DeviceSignedBytes(cardID, step))
	der, err := device.Sign(random, sum[:], crypto.SHA256)
	if err != nil {
		return out, fmt.Errorf("sign step: %w", err)
	}
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(der, &rs); err != nil || len(rest) != 0 {
		return out, fmt.Errorf("sign step: bad signature encoding: %v", err)
	}
	rs.R.FillBytes(out[:32])
	rs.S.FillBytes(out[32:])
	return out, nil
}

// CardCodeV2 assembles a v2 code from the live step, the device signature
// and the signed part. It does not check its arguments; ParseV2 does.
func CardCodeV2(signedPart string, step uint32, deviceSig [DeviceSignatureSize]byte) string {
	live := make([]byte, 0, v2LiveLen)
	live = binary.BigEndian.AppendUint32(live, step)
	live = append(live, deviceSig[:]...)
	return PrefixV2 + string(KindCard) + string(appendBase45(make([]byte, 0, V2LivePartLen), live)) + signedPart
}

// IsV2 reports whether a code text claims format version 2, so a caller can
// pick the parser. It trims as the parsers do.
func IsV2(code string) bool {
	return strings.HasPrefix(strings.TrimLeft(code, " \t\r\n"), PrefixV2)
}

// ParsedV2 is a decoded v2 code. As with Parsed, nothing in it is to be
// trusted until VerifySignature (the issuer) and VerifyDevice (freshness)
// have both returned true.
type ParsedV2 struct {
	Card       CardV2
	KeyID      [8]byte
	Step       uint32                    // the 30-s step the device signed
	DeviceSig  [DeviceSignatureSize]byte // raw r || s
	SignedPart string                    // the base45 text after the live part

	devicePub *ecdsa.PublicKey
	body      [v2MaxBodyLen]byte
	bodyLen   int
}

// ParseV2 decodes a version 2 code. Like Parse, it trims surrounding spaces,
// tabs, CR and LF and nothing else, and checks format and field values
// (including that the device key is a P-256 point and that r and s are in
// range) but no signature. Errors wrap ErrFormat.
func ParseV2(code string) (*ParsedV2, error) {
	p, err := parseV2(strings.Trim(code, " \t\r\n"))
	if err != nil {
		return nil, fmt.Errorf("parse v2 code: %w", err)
	}
	return p, nil
}

func parseV2(code string) (*ParsedV2, error) {
	if len(code) < v2HeaderLen+V2LivePartLen+v2MinSignedText || code[:len(PrefixV2)] != PrefixV2 {
		return nil, fmt.Errorf("no %q prefix or too short: %w", PrefixV2, ErrFormat)
	}
	if Kind(code[len(PrefixV2)]) != KindCard {
		return nil, fmt.Errorf("kind %q: version 2 has cards only: %w", code[len(PrefixV2)], ErrFormat)
	}
	p := &ParsedV2{}
	var live [v2LiveLen]byte
	if err := decodeBase45(live[:], code[v2HeaderLen:v2HeaderLen+V2LivePartLen]); err != nil {
		return nil, err
	}
	p.Step = binary.BigEndian.Uint32(live[:4])
	copy(p.DeviceSig[:], live[4:])
	if err := checkScalars(p.DeviceSig); err != nil {
		return nil, err
	}
	text := code[v2HeaderLen+V2LivePartLen:]
	n, ok := base45DecodedLen(len(text))
	if !ok || n < v2MinBodyLen || n > v2MaxBodyLen {
		return nil, fmt.Errorf("card body of %d characters: wrong length: %w", len(text), ErrFormat)
	}
	if err := decodeBase45(p.body[:n], text); err != nil {
		return nil, err
	}
	p.SignedPart, p.bodyLen = text, n
	return p, p.readMessage(p.body[:n-signatureLen])
}

// readMessage reads and validates the fields of the v2 card message.
func (p *ParsedV2) readMessage(msg []byte) error {
	if msg[0] != formatVersion2 {
		return fmt.Errorf("message version %#02x: %w", msg[0], ErrFormat)
	}
	if Kind(msg[1]) != KindCard {
		return fmt.Errorf("kind byte %q inside a card code: %w", msg[1], ErrFormat)
	}
	if tierLen := int(msg[68]); v2CardFixedLen+tierLen != len(msg) {
		return fmt.Errorf("tier length %d does not match message length %d: %w", tierLen, len(msg), ErrFormat)
	}
	c := &p.Card
	copy(c.KeyID[:], msg[2:10])
	copy(c.CardID[:], msg[10:26])
	c.IssuedAt = unixTime(msg[26:30])
	c.ExpiresAt = unixTime(msg[30:34])
	c.Companions = msg[34]
	copy(c.DeviceKey[:], msg[35:68])
	c.Tier = string(msg[v2CardFixedLen:])
	if err := c.Card.validate(); err != nil {
		return err
	}
	pub, err := deviceKey(c.DeviceKey)
	if err != nil {
		return err
	}
	p.KeyID, p.devicePub = c.KeyID, pub
	return nil
}

// checkScalars refuses a signature whose r or s is 0 or not below n: such a
// signature never verifies, so there is no reason to accept its text.
func checkScalars(sig [DeviceSignatureSize]byte) error {
	order := elliptic.P256().Params().N
	for _, half := range [][]byte{sig[:32], sig[32:]} {
		v := new(big.Int).SetBytes(half)
		if v.Sign() == 0 || v.Cmp(order) >= 0 {
			return fmt.Errorf("device signature scalar out of range: %w", ErrFormat)
		}
	}
	return nil
}

// message returns the issuer-signed bytes.
func (p *ParsedV2) message() []byte { return p.body[:p.bodyLen-signatureLen] }

// signature returns the issuer's Ed25519 signature over message.
func (p *ParsedV2) signature() []byte { return p.body[p.bodyLen-signatureLen : p.bodyLen] }

// VerifySignature reports whether the card was signed by the issuer key pub
// (and pub is the key the code names), as Parsed.VerifySignature does.
func (p *ParsedV2) VerifySignature(pub ed25519.PublicKey) bool {
	if p == nil || p.bodyLen < signatureLen || len(pub) != ed25519.PublicKeySize {
		return false
	}
	if KeyIDOf(pub) != p.KeyID {
		return false
	}
	return ed25519.Verify(pub, p.message(), p.signature())
}

// VerifyDevice reports whether the device key in the card signed the step
// the code carries. It says nothing about the issuer (VerifySignature) or
// whether the step is close enough to now (the caller's window).
func (p *ParsedV2) VerifyDevice() bool {
	if p == nil || p.devicePub == nil {
		return false
	}
	sum := sha256.Sum256(DeviceSignedBytes(p.Card.CardID, p.Step))
	r := new(big.Int).SetBytes(p.DeviceSig[:32])
	s := new(big.Int).SetBytes(p.DeviceSig[32:])
	return ecdsa.Verify(p.devicePub, sum[:], r, s)
}

// StepOffset returns how many 30-s steps the code's step is from the step
// of now: 0 for a live code, negative for an older one.
func (p *ParsedV2) StepOffset(now time.Time) int64 {
	return int64(p.Step) - int64(StepOf(now))
}

// Package credential defines the text of alumnipass codes: the rotating
// membership card and the guest pass that staff scan at a venue.
//
// A code is "AP1:" + a kind letter + (for cards) a 6-digit TOTP + the base45
// (RFC 9285) text of a message followed by its Ed25519 signature. Base45 keeps
// every character in the QR alphanumeric set, so a code fits a small QR
// symbol. docs/credential-format.md is the normative description; a test
// checks that its test vectors are what this package produces.
//
// The package is pure: no I/O, no clock, no logging. Callers pass keys, times
// and randomness in, which keeps the format testable and the same on every
// server instance.
package credential

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// ErrFormat reports a code or field set that does not follow the format:
// wrong prefix, kind, length, encoding or field value. Errors from Parse and
// from the Sign functions wrap it with the detail.
var ErrFormat = errors.New("credential: malformed code")

// ErrKey reports a signing key that cannot be used: wrong size, or a key id
// that does not name it.
var ErrKey = errors.New("credential: unusable signing key")

// Kind tells a card from a guest pass. Its value is the ASCII letter that
// appears both in the text prefix and as the second byte of the message.
type Kind byte

// The kinds of code.
const (
	// KindCard is a member's card: carries a TOTP and rotates every 30 s.
	KindCard Kind = 'C'
	// KindGuest is a guest pass: no TOTP, protected by its window and use count.
	KindGuest Kind = 'G'
)

// String returns "card" or "guest", for messages and logs.
func (k Kind) String() string {
	switch k {
	case KindCard:
		return "card"
	case KindGuest:
		return "guest"
	}
	return fmt.Sprintf("Kind(%#02x)", byte(k))
}

// Limits and sizes of the format.
const (
	// Prefix starts every code; the "1" is the format version of the text.
	Prefix = "AP1:"
	// MaxTierLen is the longest tier name a card can carry.
	MaxTierLen = 16

	formatVersion   = 0x01
	signatureLen    = ed25519.SignatureSize
	cardFixedLen    = 36 // card message without the tier bytes
	guestMessageLen = 53
	maxBodyLen      = guestMessageLen + signatureLen // the longest body (117)
	minCardBodyLen  = cardFixedLen + 1 + signatureLen
	maxCardBodyLen  = cardFixedLen + MaxTierLen + signatureLen
	cardHeaderLen   = len(Prefix) + 1 + TOTPDigits
	guestHeaderLen  = len(Prefix) + 1
)

// Card is what a member's card code asserts. Times are carried as whole
// Unix seconds; fractions are dropped when signing and parsed times are UTC.
type Card struct {
	KeyID      [8]byte  // id of the signing key, see KeyIDOf
	CardID     [16]byte // the card's UUID, raw bytes; never all zero
	IssuedAt   time.Time
	ExpiresAt  time.Time // must be after IssuedAt
	Companions uint8     // guests the member may bring
	Tier       string    // 1..MaxTierLen characters of [a-z0-9_-]
}

// GuestPass is what a guest pass code asserts. Its protection is the window
// and the use count enforced online, since a guest has no TOTP.
type GuestPass struct {
	KeyID      [8]byte  // id of the signing key, see KeyIDOf
	PassID     [16]byte // the pass's UUID, raw bytes; never all zero
	HostCardID [16]byte // the inviting member's card; never all zero
	ValidFrom  time.Time
	ValidUntil time.Time // must be after ValidFrom
	MaxUses    uint16    // at least 1
	PartySize  uint8     // people admitted per use; at least 1
}

// KeyIDOf returns the key id of an Ed25519 public key: the first 8 bytes of
// SHA-256 over the 32 raw key bytes. Codes carry it so a verifier can pick
// the right key while keys rotate.
func KeyIDOf(pub ed25519.PublicKey) [8]byte {
	sum := sha256.Sum256(pub)
	var id [8]byte
	copy(id[:], sum[:8])
	return id
}

// KeyIDString returns the text form of a key id, 16 lowercase hex digits,
// as used for the JWK "kid" in keys.json.
func KeyIDString(id [8]byte) string {
	return hex.EncodeToString(id[:])
}

// ParseKeyID parses the text form of a key id. Only the canonical form, 16
// lowercase hex digits, is accepted so that a kid has a single spelling.
func ParseKeyID(s string) ([8]byte, error) {
	var id [8]byte
	if len(s) != 2*len(id) {
		return id, fmt.Errorf("key id %q: want 16 hex digits: %w", s, ErrFormat)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return id, fmt.Errorf("key id %q: want lowercase hex: %w", s, ErrFormat)
		}
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("key id %q: %w", s, ErrFormat)
	}
	return id, nil
}

// SignCard signs c and returns its signed part: the base45 text that follows
// "AP1:C" and the TOTP. The wallet builds the live code from it (see
// CardCode). c.KeyID must be the id of priv's public key.
func SignCard(priv ed25519.PrivateKey, c Card) (signedPart string, err error) {
	if err := checkSigner(priv, c.KeyID); err != nil {
		return "", fmt.Errorf("sign card: %w", err)
	}
	if err := c.validate(); err != nil {
		return "", fmt.Errorf("sign card: %w", err)
	}
	return signBody(priv, appendCardMessage(make([]byte, 0, maxCardBodyLen), &c)), nil
}

// SignGuestPass signs g and returns the complete guest code, "AP1:G" and the
// base45 text. g.KeyID must be the id of priv's public key.
func SignGuestPass(priv ed25519.PrivateKey, g GuestPass) (code string, err error) {
	if err := checkSigner(priv, g.KeyID); err != nil {
		return "", fmt.Errorf("sign guest pass: %w", err)
	}
	if err := g.validate(); err != nil {
		return "", fmt.Errorf("sign guest pass: %w", err)
	}
	return Prefix + string(KindGuest) + signBody(priv, appendGuestMessage(make([]byte, 0, maxBodyLen), &g)), nil
}

// CardCode assembles the text of a card code from its signed part and the
// current 6-digit TOTP. It does not check its arguments; Parse does.
func CardCode(signedPart, totp string) string {
	return Prefix + string(KindCard) + totp + signedPart
}

// checkSigner makes sure priv is an Ed25519 private key named by keyID, so
// that a code never names a key that cannot verify it.
func checkSigner(priv ed25519.PrivateKey, keyID [8]byte) error {
	if len(priv) != ed25519.PrivateKeySize {
		return fmt.Errorf("private key has %d bytes: %w", len(priv), ErrKey)
	}
	pub, _ := priv.Public().(ed25519.PublicKey)
	if KeyIDOf(pub) != keyID {
		return fmt.Errorf("key id %s does not name this key (%s): %w",
			KeyIDString(keyID), KeyIDString(KeyIDOf(pub)), ErrKey)
	}
	return nil
}

// signBody appends the signature of msg to msg and returns the base45 text.
func signBody(priv ed25519.PrivateKey, msg []byte) string {
	body := append(msg, ed25519.Sign(priv, msg)...)
	return string(appendBase45(make([]byte, 0, base45EncodedLen(len(body))), body))
}

// validate checks the fields a card message can carry. Parse runs it too, so
// that exactly the cards SignCard accepts can be parsed.
func (c *Card) validate() error {
	if c.CardID == ([16]byte{}) {
		return fmt.Errorf("card id is zero: %w", ErrFormat)
	}
	if err := checkWindow(c.IssuedAt, c.ExpiresAt, "issued_at", "expires_at"); err != nil {
		return err
	}
	return checkTier(c.Tier)
}

// validate checks the fields a guest message can carry; Parse runs it too.
func (g *GuestPass) validate() error {
	if g.PassID == ([16]byte{}) {
		return fmt.Errorf("pass id is zero: %w", ErrFormat)
	}
	if g.HostCardID == ([16]byte{}) {
		return fmt.Errorf("host card id is zero: %w", ErrFormat)
	}
	if err := checkWindow(g.ValidFrom, g.ValidUntil, "valid_from", "valid_until"); err != nil {
		return err
	}
	if g.MaxUses == 0 {
		return fmt.Errorf("max_uses is 0: %w", ErrFormat)
	}
	if g.PartySize == 0 {
		return fmt.Errorf("party_size is 0: %w", ErrFormat)
	}
	return nil
}

// checkWindow checks that both times fit a uint32 of Unix seconds and that
// the window is not empty.
func checkWindow(from, until time.Time, fromName, untilName string) error {
	f, u := from.Unix(), until.Unix()
	if f < 0 || f > math.MaxUint32 {
		return fmt.Errorf("%s %s outside 1970..2106: %w", fromName, from.Format(time.RFC3339), ErrFormat)
	}
	if u < 0 || u > math.MaxUint32 {
		return fmt.Errorf("%s %s outside 1970..2106: %w", untilName, until.Format(time.RFC3339), ErrFormat)
	}
	if u <= f {
		return fmt.Errorf("%s is not after %s: %w", untilName, fromName, ErrFormat)
	}
	return nil
}

// checkTier checks a tier name: 1..MaxTierLen characters of [a-z0-9_-].
func checkTier(tier string) error {
	if len(tier) == 0 || len(tier) > MaxTierLen {
		return fmt.Errorf("tier length %d not in 1..%d: %w", len(tier), MaxTierLen, ErrFormat)
	}
	for i := 0; i < len(tier); i++ {
		c := tier[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' && c != '-' {
			return fmt.Errorf("tier has character %q outside [a-z0-9_-]: %w", c, ErrFormat)
		}
	}
	return nil
}

// appendCardMessage appends the signed bytes of a validated card.
func appendCardMessage(dst []byte, c *Card) []byte {
	dst = append(dst, formatVersion, byte(KindCard))
	dst = append(dst, c.KeyID[:]...)
	dst = append(dst, c.CardID[:]...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(c.IssuedAt.Unix()))
	dst = binary.BigEndian.AppendUint32(dst, uint32(c.ExpiresAt.Unix()))
	dst = append(dst, c.Companions, byte(len(c.Tier)))
	return append(dst, c.Tier...)
}

// appendGuestMessage appends the signed bytes of a validated guest pass.
func appendGuestMessage(dst []byte, g *GuestPass) []byte {
	dst = append(dst, formatVersion, byte(KindGuest))
	dst = append(dst, g.KeyID[:]...)
	dst = append(dst, g.PassID[:]...)
	dst = append(dst, g.HostCardID[:]...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(g.ValidFrom.Unix()))
	dst = binary.BigEndian.AppendUint32(dst, uint32(g.ValidUntil.Unix()))
	dst = binary.BigEndian.AppendUint16(dst, g.MaxUses)
	return append(dst, g.PartySize)
}

// Parsed is a decoded code. Its fields are not trustworthy until
// VerifySignature has returned true for the key named by KeyID; the
// validity window, TOTP, revocation and use counts are for the caller.
// Card and Guest point into the Parsed value, which is one allocation;
// VerifySignature checks the decoded bytes, not these fields.
type Parsed struct {
	Kind       Kind
	KeyID      [8]byte
	Card       *Card      // set when Kind is KindCard
	Guest      *GuestPass // set when Kind is KindGuest
	TOTP       string     // the 6 digits of a card code; empty for a guest pass
	SignedPart string     // the base45 text after the prefix (and TOTP)

	card    Card
	guest   GuestPass
	body    [maxBodyLen]byte // message || signature
	bodyLen int
}

// Parse decodes a code text. It trims surrounding spaces, tabs, CR and LF,
// which handheld scanners add, and nothing else: there is exactly one valid
// text per code. It checks the format and field values but not the
// signature; see VerifySignature. Errors wrap ErrFormat.
func Parse(code string) (*Parsed, error) {
	code = strings.Trim(code, " \t\r\n")
	if len(code) < guestHeaderLen || code[:len(Prefix)] != Prefix {
		return nil, fmt.Errorf("parse code: no %q prefix: %w", Prefix, ErrFormat)
	}
	p := &Parsed{Kind: Kind(code[len(Prefix)])}
	var err error
	switch p.Kind {
	case KindCard:
		err = p.parseCard(code)
	case KindGuest:
		err = p.parseGuest(code)
	default:
		err = fmt.Errorf("unknown kind %q: %w", byte(p.Kind), ErrFormat)
	}
	if err != nil {
		return nil, fmt.Errorf("parse code: %w", err)
	}
	return p, nil
}

// parseCard decodes "AP1:C" + TOTP + base45 text into p.
func (p *Parsed) parseCard(code string) error {
	if len(code) < cardHeaderLen {
		return fmt.Errorf("card code too short: %w", ErrFormat)
	}
	p.TOTP = code[guestHeaderLen:cardHeaderLen]
	if _, ok := parseTOTPDigits(p.TOTP); !ok {
		return fmt.Errorf("totp %q is not 6 digits: %w", p.TOTP, ErrFormat)
	}
	msg, err := p.decodeBody(code[cardHeaderLen:], minCardBodyLen, maxCardBodyLen)
	if err != nil {
		return err
	}
	if err := checkHeader(msg, KindCard); err != nil {
		return err
	}
	if tierLen := int(msg[35]); cardFixedLen+tierLen != len(msg) {
		return fmt.Errorf("tier length %d does not match message length %d: %w", tierLen, len(msg), ErrFormat)
	}
	c := &p.card
	copy(c.KeyID[:], msg[2:10])
	copy(c.CardID[:], msg[10:26])
	c.IssuedAt = unixTime(msg[26:30])
	c.ExpiresAt = unixTime(msg[30:34])
	c.Companions = msg[34]
	c.Tier = string(msg[cardFixedLen:])
	if err := c.validate(); err != nil {
		return err
	}
	p.KeyID, p.Card = c.KeyID, c
	return nil
}

// parseGuest decodes "AP1:G" + base45 text into p.
func (p *Parsed) parseGuest(code string) error {
	msg, err := p.decodeBody(code[guestHeaderLen:], maxBodyLen, maxBodyLen)
	if err != nil {
		return err
	}
	if err := checkHeader(msg, KindGuest); err != nil {
		return err
	}
	g := &p.guest
	copy(g.KeyID[:], msg[2:10])
	copy(g.PassID[:], msg[10:26])
	copy(g.HostCardID[:], msg[26:42])
	g.ValidFrom = unixTime(msg[42:46])
	g.ValidUntil = unixTime(msg[46:50])
	g.MaxUses = binary.BigEndian.Uint16(msg[50:52])
	g.PartySize = msg[52]
	if err := g.validate(); err != nil {
		return err
	}
	p.KeyID, p.Guest = g.KeyID, g
	return nil
}

// decodeBody decodes the base45 text into p.body after checking that it
// decodes to between minLen and maxLen bytes, and returns the message part.
func (p *Parsed) decodeBody(text string, minLen, maxLen int) ([]byte, error) {
	n, ok := base45DecodedLen(len(text))
	if !ok || n < minLen || n > maxLen {
		return nil, fmt.Errorf("%s body of %d characters: wrong length: %w", p.Kind, len(text), ErrFormat)
	}
	if err := decodeBase45(p.body[:n], text); err != nil {
		return nil, err
	}
	p.SignedPart, p.bodyLen = text, n
	return p.body[:n-signatureLen], nil
}

// checkHeader checks the version byte and that the kind byte inside the
// signed message agrees with the kind letter outside it.
func checkHeader(msg []byte, kind Kind) error {
	if msg[0] != formatVersion {
		return fmt.Errorf("message version %#02x: %w", msg[0], ErrFormat)
	}
	if Kind(msg[1]) != kind {
		return fmt.Errorf("kind byte %q inside a %s code: %w", msg[1], kind, ErrFormat)
	}
	return nil
}

// unixTime reads a big-endian uint32 of Unix seconds.
func unixTime(b []byte) time.Time {
	return time.Unix(int64(binary.BigEndian.Uint32(b)), 0).UTC()
}

// message returns the signed bytes.
func (p *Parsed) message() []byte { return p.body[:p.bodyLen-signatureLen] }

// signature returns the Ed25519 signature over message.
func (p *Parsed) signature() []byte { return p.body[p.bodyLen-signatureLen : p.bodyLen] }

// VerifySignature reports whether the code was signed by pub. It is false
// when pub is not the key the code names, so a caller that picked the key by
// KeyID cannot be fooled by a code naming one key and signed by another.
func (p *Parsed) VerifySignature(pub ed25519.PublicKey) bool {
	if p == nil || p.bodyLen < signatureLen || len(pub) != ed25519.PublicKeySize {
		return false
	}
	if KeyIDOf(pub) != p.KeyID {
		return false
	}
	return ed25519.Verify(pub, p.message(), p.signature())
}

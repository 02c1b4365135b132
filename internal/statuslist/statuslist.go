// Package statuslist defines the signed status list: the set of revoked and
// suspended cards and cancelled guest passes that the issuer publishes at
// /.well-known/alumnipass/status-list, so that a scanner without a network
// can refuse them. A list is either a full snapshot or a delta since a
// sequence number, in a compact binary form signed with the issuer's
// Ed25519 key; docs/credential-format.md, section 13, is the normative
// description.
//
// Like credential, the package is pure: no I/O, no clock. The server builds
// and signs lists from what the store returns; verifiers parse, check and
// query them.
package statuslist

import (
	"cmp"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/alumnipass/alumnipass/internal/credential"
)

// ErrFormat reports a list that does not follow the format.
var ErrFormat = errors.New("statuslist: malformed list")

// ErrSequence reports a delta that does not follow the list it is applied to.
var ErrSequence = errors.New("statuslist: delta does not continue this list")

// Magic starts every list.
const Magic = "APSL"

// Layout constants.
const (
	formatVersion = 0x01
	kindFull      = 'F'
	kindDelta     = 'D'
	headerLen     = 34 // magic, version, kind, key id, issued_at, seq, since
	sigLen        = ed25519.SignatureSize
	idLen         = 16
	sections      = 4
	// ContentType is the media type the server sends.
	ContentType = "application/vnd.alumnipass.status-list"
)

// Status is what the list says of an id.
type Status byte

// The statuses. Good means "not listed": the list says nothing against it.
const (
	Good      Status = 0
	Revoked   Status = 'R' // a card revoked (or its member revoked or erased)
	Suspended Status = 'S' // a card whose member is suspended
	Cancelled Status = 'X' // a cancelled guest pass
)

// String names a status as the verdicts do.
func (s Status) String() string {
	switch s {
	case Good:
		return "good"
	case Revoked:
		return "revoked"
	case Suspended:
		return "suspended"
	case Cancelled:
		return "cancelled"
	}
	return fmt.Sprintf("Status(%#02x)", byte(s))
}

// List is a decoded status list. In a full list Cleared is empty; in a
// delta it holds the ids whose entry is gone since Since (reinstated, or
// expired so that listing it no longer matters). Every section is sorted
// ascending with no repeats, and an id is in at most one section.
type List struct {
	KeyID     [8]byte
	Delta     bool
	IssuedAt  time.Time // whole seconds, UTC
	Seq       uint64    // the change sequence number the list is current to
	Since     uint64    // for a delta: the Seq of the list it continues; 0 for a full list
	Revoked   [][16]byte
	Suspended [][16]byte
	Cancelled [][16]byte
	Cleared   [][16]byte

	signed []byte // the bytes the signature covers, when parsed
	sig    []byte
}

// Sign sorts the sections of l in place, checks them, and returns the
// signed list. l.KeyID must name priv.
func Sign(priv ed25519.PrivateKey, l *List) ([]byte, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("sign status list: private key of %d bytes", len(priv))
	}
	if credential.KeyIDOf(priv.Public().(ed25519.PublicKey)) != l.KeyID {
		return nil, fmt.Errorf("sign status list: key id does not name the key")
	}
	for _, s := range l.sections() {
		slices.SortFunc(*s, cmpID)
	}
	if err := l.validate(); err != nil {
		return nil, fmt.Errorf("sign status list: %w", err)
	}
	b := l.appendSigned(nil)
	return append(b, ed25519.Sign(priv, b)...), nil
}

// appendSigned appends the bytes the signature covers: header and sections.
func (l *List) appendSigned(b []byte) []byte {
	n := len(l.Revoked) + len(l.Suspended) + len(l.Cancelled) + len(l.Cleared)
	b = slices.Grow(b, headerLen+4*sections+idLen*n+sigLen)
	b = append(b, Magic...)
	kind := byte(kindFull)
	if l.Delta {
		kind = kindDelta
	}
	b = append(b, formatVersion, kind)
	b = append(b, l.KeyID[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(l.IssuedAt.Unix()))
	b = binary.BigEndian.AppendUint64(b, l.Seq)
	b = binary.BigEndian.AppendUint64(b, l.Since)
	for _, s := range l.sections() {
		b = binary.BigEndian.AppendUint32(b, uint32(len(*s)))
		for _, id := range *s {
			b = append(b, id[:]...)
		}
	}
	return b
}

// sections returns the four id sections in their order in the text.
func (l *List) sections() []*[][16]byte {
	return []*[][16]byte{&l.Revoked, &l.Suspended, &l.Cancelled, &l.Cleared}
}

// validate checks the rules both the signer and the parser enforce.
func (l *List) validate() error {
	if u := l.IssuedAt.Unix(); u <= 0 || u > math.MaxUint32 {
		return fmt.Errorf("issued_at %v outside 1970..2106: %w", l.IssuedAt, ErrFormat)
	}
	if !l.Delta && l.Since != 0 {
		return fmt.Errorf("a full list has since %d, want 0: %w", l.Since, ErrFormat)
	}
	if l.Delta && l.Since > l.Seq {
		return fmt.Errorf("delta since %d is after seq %d: %w", l.Since, l.Seq, ErrFormat)
	}
	if !l.Delta && len(l.Cleared) > 0 {
		return fmt.Errorf("a full list clears nothing: %w", ErrFormat)
	}
	for _, s := range l.sections() {
		for i := 1; i < len(*s); i++ {
			if cmpID((*s)[i-1], (*s)[i]) >= 0 {
				return fmt.Errorf("ids not in strictly ascending order: %w", ErrFormat)
			}
		}
	}
	// An id in two sections would make the list say two things.
	secs := l.sections()
	for i, s := range secs {
		for _, id := range *s {
			for _, o := range secs[i+1:] {
				if _, found := slices.BinarySearchFunc(*o, id, cmpID); found {
					return fmt.Errorf("id %x in two sections: %w", id, ErrFormat)
				}
			}
		}
	}
	return nil
}

// cmpID orders ids as big-endian 128-bit numbers, which is byte order.
func cmpID(a, b [16]byte) int {
	if c := cmp.Compare(binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])); c != 0 {
		return c
	}
	return cmp.Compare(binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:]))
}

// Parse decodes a signed list. It checks the layout and every rule but not
// the signature; see VerifySignature. Errors wrap ErrFormat.
func Parse(b []byte) (*List, error) {
	l, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("parse status list: %w", err)
	}
	return l, nil
}

func parse(b []byte) (*List, error) {
	if len(b) < headerLen+4*sections+sigLen || string(b[:4]) != Magic {
		return nil, fmt.Errorf("no %q header: %w", Magic, ErrFormat)
	}
	if b[4] != formatVersion {
		return nil, fmt.Errorf("version %#02x: %w", b[4], ErrFormat)
	}
	l := &List{signed: b[:len(b)-sigLen], sig: b[len(b)-sigLen:]}
	switch b[5] {
	case kindFull:
	case kindDelta:
		l.Delta = true
	default:
		return nil, fmt.Errorf("kind %q: %w", b[5], ErrFormat)
	}
	copy(l.KeyID[:], b[6:14])
	l.IssuedAt = time.Unix(int64(binary.BigEndian.Uint32(b[14:18])), 0).UTC()
	l.Seq = binary.BigEndian.Uint64(b[18:26])
	l.Since = binary.BigEndian.Uint64(b[26:34])
	rest := l.signed[headerLen:]
	for _, s := range l.sections() {
		if len(rest) < 4 {
			return nil, fmt.Errorf("truncated section: %w", ErrFormat)
		}
		n := binary.BigEndian.Uint32(rest)
		rest = rest[4:]
		if uint64(len(rest)) < uint64(n)*idLen {
			return nil, fmt.Errorf("section of %d ids in %d bytes: %w", n, len(rest), ErrFormat)
		}
		ids := make([][16]byte, n)
		for i := range ids {
			copy(ids[i][:], rest[i*idLen:])
		}
		*s, rest = ids, rest[int(n)*idLen:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d bytes after the last section: %w", len(rest), ErrFormat)
	}
	if err := l.validate(); err != nil {
		return nil, err
	}
	return l, nil
}

// VerifySignature reports whether the parsed list was signed by pub and
// pub is the key the list names.
func (l *List) VerifySignature(pub ed25519.PublicKey) bool {
	if l == nil || l.signed == nil || len(pub) != ed25519.PublicKeySize {
		return false
	}
	return credential.KeyIDOf(pub) == l.KeyID && ed25519.Verify(pub, l.signed, l.sig)
}

// StatusOf returns what the list says of an id (Good when it is not listed).
// For a delta, Good also covers ids it clears and ids it does not mention.
func (l *List) StatusOf(id [16]byte) Status {
	for _, s := range []struct {
		ids    [][16]byte
		status Status
	}{{l.Revoked, Revoked}, {l.Suspended, Suspended}, {l.Cancelled, Cancelled}} {
		if _, found := slices.BinarySearchFunc(s.ids, id, cmpID); found {
			return s.status
		}
	}
	return Good
}

// Apply returns the full list that results from applying the delta d to
// the full list l. Both must already be verified. The result is not signed
// (it has no signature of its own); its IssuedAt, Seq and KeyID are the
// delta's, since the delta proves the state was current at its IssuedAt.
func (l *List) Apply(d *List) (*List, error) {
	if l.Delta || !d.Delta {
		return nil, fmt.Errorf("apply: want a full list and a delta: %w", ErrSequence)
	}
	if d.Since != l.Seq {
		return nil, fmt.Errorf("apply: delta since %d onto a list at %d: %w", d.Since, l.Seq, ErrSequence)
	}
	// Sorted sections: drop from each what the delta mentions, then merge
	// in the delta's ids, in linear time (a map of a million ids is slow).
	changed := func(id [16]byte) bool { return d.StatusOf(id) != Good || contains(d.Cleared, id) }
	out := &List{KeyID: d.KeyID, IssuedAt: d.IssuedAt, Seq: d.Seq,
		Revoked:   merge(l.Revoked, d.Revoked, changed),
		Suspended: merge(l.Suspended, d.Suspended, changed),
		Cancelled: merge(l.Cancelled, d.Cancelled, changed),
	}
	return out, nil
}

func contains(ids [][16]byte, id [16]byte) bool {
	_, found := slices.BinarySearchFunc(ids, id, cmpID)
	return found
}

// merge returns the sorted union of the ids of base that are not dropped
// and the sorted ids of add.
func merge(base, add [][16]byte, drop func([16]byte) bool) [][16]byte {
	out := make([][16]byte, 0, len(base)+len(add))
	j := 0
	for _, id := range base {
		if drop(id) {
			continue
		}
		for j < len(add) && cmpID(add[j], id) < 0 {
			out = append(out, add[j])
			j++
		}
		out = append(out, id)
	}
	return append(out, add[j:]...)
}

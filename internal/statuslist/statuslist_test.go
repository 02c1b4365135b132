package statuslist

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/credential"
)

func testKey() ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	return ed25519.NewKeyFromSeed(seed)
}

func kidOf(priv ed25519.PrivateKey) [8]byte {
	return credential.KeyIDOf(priv.Public().(ed25519.PublicKey))
}

func id(n uint64) [16]byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[8:], n)
	b[0] = 0xa0
	return b
}

var at = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestRoundTripAndLookup(t *testing.T) {
	priv := testKey()
	l := &List{KeyID: kidOf(priv), IssuedAt: at, Seq: 7,
		Revoked: [][16]byte{id(3), id(1)}, Suspended: [][16]byte{id(2)}, Cancelled: [][16]byte{id(9)}}
	b, err := Sign(priv, l)
	if err != nil {
		t.Fatal(err)
	}
	if want := headerLen + 4*4 + 4*16 + 64; len(b) != want {
		t.Errorf("size %d, want %d", len(b), want)
	}
	p, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !p.VerifySignature(priv.Public().(ed25519.PublicKey)) {
		t.Fatal("signature does not verify")
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	if p.VerifySignature(other.Public().(ed25519.PublicKey)) {
		t.Fatal("verifies with another key")
	}
	if p.Seq != 7 || !p.IssuedAt.Equal(at) || p.Delta {
		t.Errorf("header %+v", p)
	}
	for n, want := range map[uint64]Status{1: Revoked, 3: Revoked, 2: Suspended, 9: Cancelled, 4: Good} {
		if got := p.StatusOf(id(n)); got != want {
			t.Errorf("id %d: %v, want %v", n, got, want)
		}
	}
	// Any flipped byte breaks parsing or the signature.
	for i := range b {
		c := append([]byte(nil), b...)
		c[i] ^= 0x01
		if q, err := Parse(c); err == nil && q.VerifySignature(priv.Public().(ed25519.PublicKey)) {
			t.Fatalf("flipping byte %d still verifies", i)
		}
	}
}

func TestParseStrict(t *testing.T) {
	priv := testKey()
	good, err := Sign(priv, &List{KeyID: kidOf(priv), IssuedAt: at, Seq: 3, Revoked: [][16]byte{id(1), id(2)}})
	if err != nil {
		t.Fatal(err)
	}
	swapped := append([]byte(nil), good...)
	copy(swapped[headerLen+4:], append(append([]byte{}, good[headerLen+4+16:headerLen+4+32]...), good[headerLen+4:headerLen+4+16]...))
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := map[string][]byte{
		"empty":           nil,
		"bad magic":       mutate(func(b []byte) []byte { b[0] = 'X'; return b }),
		"version 2":       mutate(func(b []byte) []byte { b[4] = 2; return b }),
		"kind Z":          mutate(func(b []byte) []byte { b[5] = 'Z'; return b }),
		"trailing byte":   append(append([]byte(nil), good...), 0),
		"truncated":       good[:len(good)-1],
		"unsorted":        swapped,
		"count too large": mutate(func(b []byte) []byte { b[headerLen+3] = 200; return b }),
		"full with since": mutate(func(b []byte) []byte { b[33] = 1; return b }),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			if l, err := Parse(b); err == nil || l != nil || !errors.Is(err, ErrFormat) {
				t.Fatalf("Parse = %v, %v", l, err)
			}
		})
	}
	if _, err := Sign(priv, &List{KeyID: kidOf(priv), IssuedAt: at, Seq: 3,
		Revoked: [][16]byte{id(1)}, Suspended: [][16]byte{id(1)}}); !errors.Is(err, ErrFormat) {
		t.Errorf("id in two sections: %v", err)
	}
	if _, err := Sign(priv, &List{KeyID: kidOf(priv), IssuedAt: at, Seq: 3, Revoked: [][16]byte{id(1), id(1)}}); !errors.Is(err, ErrFormat) {
		t.Errorf("repeated id: %v", err)
	}
}

func TestApplyDelta(t *testing.T) {
	priv := testKey()
	full := &List{KeyID: kidOf(priv), IssuedAt: at, Seq: 5, Revoked: [][16]byte{id(1)}, Suspended: [][16]byte{id(2)}}
	delta := &List{KeyID: kidOf(priv), Delta: true, IssuedAt: at.Add(time.Minute), Seq: 8, Since: 5,
		Revoked: [][16]byte{id(2)}, Cancelled: [][16]byte{id(7)}, Cleared: [][16]byte{id(1)}}
	for _, l := range []*List{full, delta} {
		b, err := Sign(priv, l)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(b); err != nil {
			t.Fatal(err)
		}
	}
	got, err := full.Apply(delta)
	if err != nil {
		t.Fatal(err)
	}
	for n, want := range map[uint64]Status{1: Good, 2: Revoked, 7: Cancelled} {
		if s := got.StatusOf(id(n)); s != want {
			t.Errorf("id %d: %v, want %v", n, s, want)
		}
	}
	if got.Seq != 8 || !got.IssuedAt.Equal(delta.IssuedAt) {
		t.Errorf("merged header %d %v", got.Seq, got.IssuedAt)
	}
	stale := *delta
	stale.Since = 4
	if _, err := full.Apply(&stale); !errors.Is(err, ErrSequence) {
		t.Errorf("delta from another seq: %v", err)
	}
}

// ids1M returns 1,000,000 random ids: the worst case of a
// 1,000,000-member issuer, every card listed.
func ids1M() [][16]byte {
	ids := make([][16]byte, 1_000_000)
	for i := range ids {
		_, _ = rand.Read(ids[i][:])
	}
	return ids
}

// BenchmarkSignFullList1M sorts, checks and signs a full list of 1,000,000
// revoked cards and reports its size.
func BenchmarkSignFullList1M(b *testing.B) {
	priv := testKey()
	ids := ids1M()
	var size int
	for b.Loop() {
		l := &List{KeyID: kidOf(priv), IssuedAt: at, Seq: 1, Revoked: append([][16]byte(nil), ids...)}
		out, err := Sign(priv, l)
		if err != nil {
			b.Fatal(err)
		}
		size = len(out)
	}
	b.ReportMetric(float64(size), "bytes/list")
}

// BenchmarkParseFullList1M parses and verifies that list, as a scanner or
// verify-offline does once per full download.
func BenchmarkParseFullList1M(b *testing.B) {
	priv := testKey()
	out, err := Sign(priv, &List{KeyID: kidOf(priv), IssuedAt: at, Seq: 1, Revoked: ids1M()})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		p, err := Parse(out)
		if err != nil || !p.VerifySignature(priv.Public().(ed25519.PublicKey)) {
			b.Fatal(fmt.Errorf("parse: %v", err))
		}
	}
}

// The status list test vectors of docs/credential-format.md, section 13.6.
const (
	formatDoc     = "../../docs/credential-format.md"
	vectorsMarker = "<!-- test-vectors-status: checked by internal/statuslist/statuslist_test.go -->"
)

func seqID(first byte) [16]byte {
	var x [16]byte
	for i := range x {
		x[i] = first + byte(i)
	}
	return x
}

// computeVectors signs the documented full list and delta.
func computeVectors(t *testing.T) []string {
	priv := testKey()
	full, err := Sign(priv, &List{KeyID: kidOf(priv), IssuedAt: at, Seq: 42,
		Revoked: [][16]byte{seqID(0xa0)}, Suspended: [][16]byte{seqID(0xc0)}, Cancelled: [][16]byte{seqID(0xb0)}})
	if err != nil {
		t.Fatal(err)
	}
	delta, err := Sign(priv, &List{KeyID: kidOf(priv), Delta: true, IssuedAt: at.Add(time.Minute), Since: 42, Seq: 43,
		Revoked: [][16]byte{seqID(0xd0)}, Cleared: [][16]byte{seqID(0xc0)}})
	if err != nil {
		t.Fatal(err)
	}
	return []string{
		fmt.Sprintf("%-24s %x", "status.full", full),
		fmt.Sprintf("%-24s %x", "status.delta_since_42", delta),
	}
}

func TestFormatDocStatusVectors(t *testing.T) {
	want := computeVectors(t)
	doc, err := os.ReadFile(formatDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(doc), vectorsMarker)
	if !ok {
		t.Fatalf("no %q in the document; expected block:\n%s", vectorsMarker, strings.Join(want, "\n"))
	}
	_, block, _ := strings.Cut(after, "```text\n")
	block, _, _ = strings.Cut(block, "```")
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		name, value, _ := strings.Cut(line, " ")
		got = append(got, fmt.Sprintf("%-24s %s", name, strings.TrimSpace(value)))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("document vectors differ; expected block:\n%s", strings.Join(want, "\n"))
	}
	// And independently: the documented bytes parse, verify and merge.
	var lists []*List
	for _, line := range got {
		_, hexText, _ := strings.Cut(line, " ")
		b, err := hex.DecodeString(strings.TrimSpace(hexText))
		if err != nil {
			t.Fatal(err)
		}
		l, err := Parse(b)
		if err != nil || !l.VerifySignature(testKey().Public().(ed25519.PublicKey)) {
			t.Fatalf("documented list does not verify: %v", err)
		}
		lists = append(lists, l)
	}
	m, err := lists[0].Apply(lists[1])
	if err != nil || m.StatusOf(seqID(0xc0)) != Good || m.StatusOf(seqID(0xd0)) != Revoked || m.StatusOf(seqID(0xb0)) != Cancelled {
		t.Fatalf("documented delta does not apply: %v", err)
	}
}

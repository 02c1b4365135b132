package statuslist

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParse: the parser never panics, refuses with ErrFormat, and what it
// accepts has exactly one encoding (the fields re-encode to the signed bytes).
func FuzzParse(f *testing.F) {
	priv := testKey()
	for _, l := range []*List{
		{KeyID: kidOf(priv), IssuedAt: at, Seq: 42, Revoked: [][16]byte{seqID(0xa0)}, Suspended: [][16]byte{seqID(0xc0)}, Cancelled: [][16]byte{seqID(0xb0)}},
		{KeyID: kidOf(priv), Delta: true, IssuedAt: at, Since: 42, Seq: 43, Revoked: [][16]byte{seqID(0xd0)}, Cleared: [][16]byte{seqID(0xc0)}},
		{KeyID: kidOf(priv), IssuedAt: at, Seq: 1},
	} {
		b, err := Sign(priv, l)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)-1])
	}
	f.Add([]byte("APSL"))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := Parse(b)
		if err != nil {
			if l != nil || !errors.Is(err, ErrFormat) {
				t.Fatalf("Parse = %v, %v", l, err)
			}
			return
		}
		if got := l.appendSigned(nil); !bytes.Equal(got, b[:len(b)-sigLen]) {
			t.Fatalf("fields re-encode to %x, input %x", got, b)
		}
	})
}

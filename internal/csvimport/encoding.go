package csvimport

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"
)

// encodingKind is a character encoding of the input file.
type encodingKind int

const (
	encAuto encodingKind = iota
	encUTF8
	encCP932
)

// String names the encoding as the messages and the documentation do.
func (k encodingKind) String() string {
	switch k {
	case encUTF8:
		return "UTF-8"
	case encCP932:
		return "Shift_JIS (CP932)"
	}
	return "auto"
}

// utf8BOM is the byte order mark that Excel's 「CSV UTF-8」 writes first.
const utf8BOM = "\xEF\xBB\xBF"

// parseEncoding maps the Options.Encoding spelling to an encodingKind.
func parseEncoding(name string) (encodingKind, error) {
	key := strings.ToLower(strings.TrimSpace(name))
	key = strings.NewReplacer("-", "", "_", "").Replace(key)
	switch key {
	case "", "auto":
		return encAuto, nil
	case "utf8":
		return encUTF8, nil
	case "shiftjis", "sjis", "cp932", "windows31j", "ms932", "mskanji":
		return encCP932, nil
	}
	return encAuto, fmt.Errorf("%w %q (use auto, utf-8 or shift_jis)", ErrUnknownEncoding, name)
}

// chooseEncoding strips a UTF-8 byte order mark, settles the encoding of data
// and returns the bytes to parse with a decoder for their fields. The CSV
// structure is parsed on the raw bytes, which is safe for CP932 too: its
// second bytes are 0x40 or above, so they never look like a comma, a quote
// or a line break.
//
// It returns problems instead when the whole file is evidently in another
// encoding than the one asked for.
func chooseEncoding(data []byte, kind encodingKind) ([]byte, *fieldDecoder, []Problem) {
	if bytes.HasPrefix(data, []byte("\xFF\xFE")) || bytes.HasPrefix(data, []byte("\xFE\xFF")) {
		return nil, nil, []Problem{fileProblem(faultUTF16())}
	}
	hasBOM := bytes.HasPrefix(data, []byte(utf8BOM))
	if kind == encCP932 && (hasBOM || looksUTF8(data)) {
		line := 1
		if !hasBOM {
			line += bytes.Count(data[:firstNonASCII(data)], []byte{'\n'})
		}
		p := fileProblem(faultFileIsUTF8())
		p.Line = line
		return nil, nil, []Problem{p}
	}
	data = bytes.TrimPrefix(data, []byte(utf8BOM))
	detected := false
	if kind == encAuto {
		detected = true
		kind = encCP932
		if hasBOM || mostlyUTF8(data) {
			kind = encUTF8
		}
	}
	d := &fieldDecoder{kind: kind, detected: detected}
	if kind == encCP932 {
		d.sjis = japanese.ShiftJIS.NewDecoder()
	}
	return data, d, nil
}

// fileProblem is a problem with the whole file, reported on line 1.
func fileProblem(f fault) Problem {
	return Problem{Line: 1, Code: f.code, Message: f.en, MessageJA: f.ja}
}

// looksUTF8 reports whether data is valid UTF-8 with at least one character
// outside ASCII: Japanese text in CP932 practically never is.
func looksUTF8(data []byte) bool {
	return firstNonASCII(data) < len(data) && utf8.Valid(data)
}

// firstNonASCII returns the offset of the first byte ≥ 0x80, or len(data).
func firstNonASCII(data []byte) int {
	for i, b := range data {
		if b >= utf8.RuneSelf {
			return i
		}
	}
	return len(data)
}

// mostlyUTF8 decides auto-detection: valid UTF-8 is UTF-8; so is a file whose
// multi-byte sequences are overwhelmingly valid UTF-8 with a few damaged
// bytes, so that those few are reported where they are instead of the whole
// file being misread as CP932. CP932 text yields invalid UTF-8 at almost every
// kana, so it never passes.
func mostlyUTF8(data []byte) bool {
	if utf8.Valid(data) {
		return true
	}
	valid, invalid := 0, 0
	for i := 0; i < len(data); {
		if data[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			invalid++
		} else {
			valid++
		}
		i += size
	}
	return valid >= 8*invalid
}

// fieldDecoder turns the raw bytes of one field into UTF-8 text, or says
// which bytes are not valid in the file's encoding.
type fieldDecoder struct {
	kind     encodingKind
	detected bool              // kind was auto-detected, not asked for
	sjis     *encoding.Decoder // for encCP932
	src, dst []byte            // buffers of decodeCP932
}

// badBytes describes the first bytes of a field that are not valid in the
// file's encoding.
type badBytes struct {
	bytes       []byte
	before      string // the decoded text before them, to help find them
	userDefined bool   // a CP932 user-defined character (外字)
}

// decode returns the UTF-8 text of raw, one field of the file.
func (d *fieldDecoder) decode(raw string) (string, *badBytes) {
	if isASCII(raw) {
		return raw, nil // ASCII reads the same in both encodings
	}
	if d.kind == encUTF8 {
		if utf8.ValidString(raw) {
			return raw, nil
		}
		bad, before := firstInvalidUTF8(raw)
		return "", &badBytes{bytes: bad, before: before}
	}
	s, err := d.decodeCP932(raw)
	if err == nil && !strings.ContainsRune(s, utf8.RuneError) && !strings.ContainsRune(s, 0x80) {
		return s, nil
	}
	bad, before, userDefined := d.firstInvalidCP932(raw)
	return "", &badBytes{bytes: bad, before: before, userDefined: userDefined}
}

// decodeCP932 decodes raw with x/text's Shift_JIS decoder (which is CP932:
// it has the NEC special characters and both sets of IBM extensions) through
// buffers reused across fields. Invalid bytes become U+FFFD.
func (d *fieldDecoder) decodeCP932(raw string) (string, error) {
	d.src = append(d.src[:0], raw...)
	// One byte becomes at most three: a half-width katakana or U+FFFD.
	if need := 3 * len(raw); cap(d.dst) < need {
		d.dst = make([]byte, need)
	}
	d.sjis.Reset()
	n, _, err := d.sjis.Transform(d.dst[:cap(d.dst)], d.src, true)
	if err != nil {
		return "", fmt.Errorf("decode CP932: %w", err)
	}
	return string(d.dst[:n]), nil
}

// isASCII reports whether s has only 7-bit bytes.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// firstInvalidUTF8 returns the first invalid byte of s and the valid text
// before it.
func firstInvalidUTF8(s string) (bad []byte, before string) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			end := i + 1
			for end < len(s) && end < i+4 && !utf8.RuneStart(s[end]) {
				end++
			}
			return []byte(s[i:end]), s[:i]
		}
		i += size
	}
	return nil, s
}

// firstInvalidCP932 walks raw as CP932 and returns the first byte sequence
// that does not decode, the decoded text before it, and whether it is a
// user-defined character (外字, lead bytes 0xF0–0xF9), which has no standard
// Unicode equivalent.
func (d *fieldDecoder) firstInvalidCP932(raw string) (bad []byte, before string, userDefined bool) {
	decodeBefore := func(i int) string {
		s, _ := d.sjis.String(raw[:i])
		return s
	}
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c < 0x80 || (c >= 0xA1 && c <= 0xDF):
			i++
			continue
		case (c >= 0x81 && c <= 0x9F) || (c >= 0xE0 && c <= 0xFC):
			if i+1 >= len(raw) || !isCP932Trail(raw[i+1]) {
				return []byte{c}, decodeBefore(i), false
			}
			pair := raw[i : i+2]
			if c >= 0xF0 && c <= 0xF9 {
				return []byte(pair), decodeBefore(i), true
			}
			if s, err := d.sjis.String(pair); err != nil || strings.ContainsRune(s, utf8.RuneError) {
				return []byte(pair), decodeBefore(i), false
			}
			i += 2
			continue
		}
		return []byte{c}, decodeBefore(i), false // 0x80, 0xA0, 0xFD–0xFF
	}
	return nil, decodeBefore(len(raw)), false
}

// isCP932Trail reports whether b can be the second byte of a CP932 character.
func isCP932Trail(b byte) bool {
	return (b >= 0x40 && b <= 0x7E) || (b >= 0x80 && b <= 0xFC)
}

// hexBytes formats b as "0x8E 0x52".
func hexBytes(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("0x%02X", c)
	}
	return strings.Join(parts, " ")
}

package credential

import "fmt"

// base45Alphabet is the RFC 9285 alphabet. Every character of it is in the
// QR alphanumeric set, which is why the code text uses it.
const base45Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// base45EncodedLen is the length of the base45 text for n bytes: three
// characters per pair of bytes and two for a final single byte.
func base45EncodedLen(n int) int {
	return n/2*3 + n%2*2
}

// base45DecodedLen is the number of bytes that text of length n decodes to,
// or false when no byte string has an encoding of that length.
func base45DecodedLen(n int) (int, bool) {
	if n%3 == 1 {
		return 0, false
	}
	return n/3*2 + n%3/2, true
}

// appendBase45 appends the RFC 9285 encoding of src to dst.
func appendBase45(dst, src []byte) []byte {
	for i := 0; i+1 < len(src); i += 2 {
		n := int(src[i])<<8 | int(src[i+1])
		dst = append(dst, base45Alphabet[n%45], base45Alphabet[n/45%45], base45Alphabet[n/2025])
	}
	if len(src)%2 == 1 {
		n := int(src[len(src)-1])
		dst = append(dst, base45Alphabet[n%45], base45Alphabet[n/45])
	}
	return dst
}

// base45Value returns the value of one base45 character. A switch rather
// than a lookup table keeps the package free of package-level variables.
func base45Value(c byte) (int, bool) {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0'), true
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10, true
	}
	switch c {
	case ' ':
		return 36, true
	case '$':
		return 37, true
	case '%':
		return 38, true
	case '*':
		return 39, true
	case '+':
		return 40, true
	case '-':
		return 41, true
	case '.':
		return 42, true
	case '/':
		return 43, true
	case ':':
		return 44, true
	}
	return 0, false
}

// decodeBase45 decodes src into dst, which must have exactly the decoded
// length. It is strict, so that every byte string has exactly one text: it
// rejects characters outside the alphabet (lowercase included), a dangling
// single character, triplets above 65535 and final pairs above 255.
func decodeBase45(dst []byte, src string) error {
	if n, ok := base45DecodedLen(len(src)); !ok || n != len(dst) {
		return fmt.Errorf("base45: length %d: %w", len(src), ErrFormat)
	}
	for i, o := 0, 0; i < len(src); i, o = i+3, o+2 {
		c, ok1 := base45Value(src[i])
		d, ok2 := base45Value(src[i+1])
		if !ok1 || !ok2 {
			return fmt.Errorf("base45: invalid character near offset %d: %w", i, ErrFormat)
		}
		if i+2 == len(src) {
			n := c + d*45
			if n > 0xff {
				return fmt.Errorf("base45: final pair %d exceeds 255: %w", n, ErrFormat)
			}
			dst[o] = byte(n)
			return nil
		}
		e, ok3 := base45Value(src[i+2])
		if !ok3 {
			return fmt.Errorf("base45: invalid character at offset %d: %w", i+2, ErrFormat)
		}
		n := c + d*45 + e*2025
		if n > 0xffff {
			return fmt.Errorf("base45: triplet %d exceeds 65535: %w", n, ErrFormat)
		}
		dst[o], dst[o+1] = byte(n>>8), byte(n)
	}
	return nil
}

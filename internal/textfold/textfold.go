// Package textfold folds Japanese names and search text so that what HR
// types finds what HR (or an HR system) wrote: variant kanji (髙/高, 﨑/崎),
// hiragana/katakana, half-width kana, full-width Latin and digits, and case
// all compare equal in a search key. Stored names are never folded; only
// the key is. Pure functions, no I/O.
package textfold

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// toKatakana maps a hiragana letter or iteration mark to its katakana, which
// Unicode places exactly 0x60 above it (ぁ U+3041 → ァ U+30A1 … ゖ → ヶ,
// ゝ → ヽ, ゞ → ヾ). x/text has no kana conversion, so this is ours; it is
// the same mapping model.NormalizeKana applies to the readings it stores.
func toKatakana(r rune) rune {
	if (r >= 'ぁ' && r <= 'ゖ') || r == 'ゝ' || r == 'ゞ' {
		return r + ('ァ' - 'ぁ')
	}
	return r
}

// Key folds s for matching: NFKC (which includes the width folding of
// x/text/width: full-width ＡＢＣ１２３ → ABC123, ﾀｶﾊｼ → タカハシ, and the
// CJK compatibility ideographs that have a canonical form), hiragana to
// katakana, variant kanji to their common form (see itaiji.go), Unicode case
// folding (x/text/cases), and removes white space, control characters and
// variation selectors (an IVS picks a glyph, not a different name). Two
// strings that a Japanese HR clerk would call "the same name" get the same
// key.
func Key(s string) string {
	if isASCII(s) {
		// The common case for employee numbers and e-mail addresses:
		// NFKC and the kana and kanji tables change nothing in ASCII.
		return strings.Map(func(r rune) rune {
			switch {
			case r <= ' ' || r == 0x7F:
				return -1
			case r >= 'A' && r <= 'Z':
				return r + ('a' - 'A')
			}
			return r
		}, s)
	}
	s = norm.NFKC.String(s)
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Variation_Selector, r):
			return -1
		}
		if c, ok := itaiji[r]; ok {
			return c
		}
		return toKatakana(r)
	}, s)
	return cases.Fold().String(s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Separator joins the fields of a stored search key. A folded query never
// contains it (Key removes white space), so a query cannot match across two
// fields.
const Separator = "\n"

// MemberKey is the stored search key of a member: the name family-first
// and given-first (people type "Alex Smith" as well as "Smith Alex"), the
// reading, the employee number and the e-mail address, each folded by Key.
func MemberKey(familyName, givenName, familyKana, givenKana, employeeNo, email string) string {
	parts := []string{Key(familyName + givenName), Key(givenName + familyName), Key(familyKana + givenKana), Key(employeeNo), Key(email)}
	return strings.Join(parts, Separator)
}

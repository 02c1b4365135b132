package model

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxNameLen is the longest a member's name or kana reading may be, in
// characters (runes).
const MaxNameLen = 64

// NameFault says why a name or a kana reading is refused. Its value is the
// machine-readable code that every path (the API, the HR console, the CSV
// import) reports for it, so the same input gets the same code everywhere.
type NameFault string

// The faults of NormalizeName and NormalizeKana. FaultNone is no fault.
const (
	FaultNone             NameFault = ""
	FaultRequired         NameFault = "required"          // empty after trimming white space
	FaultTooLong          NameFault = "too_long"          // more than MaxNameLen characters
	FaultInvalidCharacter NameFault = "invalid_character" // a control, bidi or other format character
	FaultInvisibleName    NameFault = "invisible_name"    // only zero-width or blank-looking characters
	FaultInvalidKana      NameFault = "invalid_kana"      // a reading with characters other than kana
)

// NormalizeName is the one rule for a member's family or given name: white
// space (the full-width space U+3000 and line breaks too) is trimmed and
// each inner run becomes one space; names are not NFKC-folded, as 髙 and 﨑
// must stay as written. It refuses, with the first character at fault:
// control characters, bidirectional controls such as U+202E (which make a
// name display as something else), other invisible format characters but
// the zero-width (non-)joiners that scripts and emoji need, U+FFFD and
// noncharacters; and a name with nothing visible in it.
func NormalizeName(s string) (string, NameFault, rune) {
	if r, bad := badNameRune(s); bad {
		return "", FaultInvalidCharacter, r
	}
	v := collapseSpace(s)
	if v == "" {
		return "", FaultRequired, 0
	}
	if utf8.RuneCountInString(v) > MaxNameLen {
		return "", FaultTooLong, 0
	}
	if strings.IndexFunc(v, visible) < 0 {
		return "", FaultInvisibleName, 0
	}
	return v, FaultNone, 0
}

// NormalizeKana is the rule for a kana reading (optional: "" is accepted):
// NFKC-folded, so half-width katakana become full-width, white space as in
// NormalizeName, hiragana turned into katakana; anything but katakana,
// hiragana, "ー", "・" and spaces is refused.
func NormalizeKana(s string) (string, NameFault, rune) {
	if r, bad := badNameRune(s); bad {
		return "", FaultInvalidCharacter, r
	}
	v := collapseSpace(nfkc(s))
	if v == "" {
		return "", FaultNone, 0
	}
	n, hiragana := 0, false
	for _, r := range v {
		n++
		switch {
		case isHiragana(r):
			hiragana = true
		case isKatakana(r) || r == ' ':
		default:
			return "", FaultInvalidKana, r
		}
	}
	if n > MaxNameLen {
		return "", FaultTooLong, 0
	}
	if !hiragana {
		return v, FaultNone, 0
	}
	return strings.Map(func(r rune) rune {
		if isHiragana(r) {
			return r + ('ァ' - 'ぁ')
		}
		return r
	}, v), FaultNone, 0
}

// badNameRune finds the first character no name may hold. Tab and line
// breaks are not among them: they count as white space.
func badNameRune(s string) (rune, bool) {
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
		case r < 0x20 || (r >= 0x7F && r <= 0x9F):
			return r, true
		case r == utf8.RuneError: // U+FFFD, or bytes that are not UTF-8
			return r, true
		case r == '\u200C' || r == '\u200D': // zero-width (non-)joiner: Persian, Indic names, emoji
		case unicode.Is(unicode.Cf, r): // bidi controls, U+200B, U+2060, U+FEFF, tags …
			return r, true
		case (r >= 0xFDD0 && r <= 0xFDEF) || r&0xFFFE == 0xFFFE: // noncharacters
			return r, true
		}
	}
	return 0, false
}

// visible reports whether r shows as something on a page: a letter, digit,
// punctuation, symbol or private-use character (a company's gaiji), but not
// one of the letters that render blank (Hangul fillers, the braille blank).
func visible(r rune) bool {
	switch r {
	case '\u115F', '\u1160', '\u3164', '\uFFA0', '\u2800':
		return false
	}
	return unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S, unicode.Co)
}

// collapseSpace trims s and replaces each run of white space inside it
// (U+3000 and line breaks too) with one ASCII space.
func collapseSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// nfkc folds compatibility characters (full-width letters, half-width
// katakana), skipping the work for ASCII.
func nfkc(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return norm.NFKC.String(s)
		}
	}
	return s
}

// isHiragana reports whether r is a hiragana letter or iteration mark, one
// that has a katakana counterpart at U+0060 above it.
func isHiragana(r rune) bool {
	return (r >= 'ぁ' && r <= 'ゖ') || r == 'ゝ' || r == 'ゞ'
}

// isKatakana reports whether r is a full-width katakana letter, the long
// vowel mark ー, the middle dot ・ or an iteration mark.
func isKatakana(r rune) bool {
	return (r >= 'ァ' && r <= 'ヾ') || (r >= 'ㇰ' && r <= 'ㇿ')
}

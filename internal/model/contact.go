package model

import (
	"net/mail"
	"strings"
)

// MaxEmailLen is the longest e-mail address kept (RFC 5321's path limit).
const MaxEmailLen = 254

// NormalizeEmail is the one rule for a member's e-mail address, on every
// path (API, console, CSV import): full-width characters folded (NFKC),
// white space trimmed, one bare address (no display name, no angle
// brackets), at most MaxEmailLen bytes, the domain lower-cased (domains are
// case-insensitive; the local part is kept as written). ok is false when
// the address is refused.
func NormalizeEmail(s string) (addr string, ok bool) {
	v := strings.TrimSpace(nfkc(s))
	if v == "" || len(v) > MaxEmailLen {
		return "", false
	}
	at := strings.LastIndexByte(v, '@')
	if at <= 0 || at == len(v)-1 {
		return "", false
	}
	v = v[:at] + "@" + strings.ToLower(v[at+1:])
	parsed, err := mail.ParseAddress(v)
	if err != nil || parsed.Name != "" || parsed.Address != v {
		return "", false
	}
	return v, true
}

// Locales the product speaks.
const (
	LocaleJA = "ja"
	LocaleEN = "en"
)

// ParseLocale is the one rule for a member's language, on every path: ja or
// en, also as HR systems export it (jp, Japanese, 日本語, ja-JP, English,
// 英語, en-US, en_GB …), in any case or width; empty means ja. ok is false
// for anything else.
func ParseLocale(s string) (locale string, ok bool) {
	v := strings.ToLower(strings.TrimSpace(nfkc(s)))
	switch v {
	case "", "ja", "jp", "japanese", "日本語":
		return LocaleJA, true
	case "en", "english", "英語":
		return LocaleEN, true
	}
	for _, lang := range []string{LocaleJA, LocaleEN} {
		if len(v) > 3 && v[:2] == lang && (v[2] == '-' || v[2] == '_') {
			return lang, true // ja-JP, en-US, en_GB …
		}
	}
	return "", false
}

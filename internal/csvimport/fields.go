package csvimport

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/alumnipass/alumnipass/internal/model"
)

// Limits of the member fields, shared with the API's validation.
const (
	maxEmployeeNo = 32
	maxEmail      = 254
	maxTier       = 16
)

// normalise cleans value, the decoded text of field f in the column named col,
// and validates it. It returns the value to store (for departed_on, the
// date) or a fault.
func normalise(f field, col, value string) (string, time.Time, *fault) {
	if r, ok := badRune(value); ok {
		if r == utf8.RuneError {
			return "", time.Time{}, faultReplacementChar(col, value)
		}
		return "", time.Time{}, faultControlChar(col, value, r)
	}
	var v string
	var fl *fault
	switch f {
	case fieldEmployeeNo:
		v, fl = normaliseEmployeeNo(col, value)
	case fieldFamilyName, fieldGivenName:
		v, fl = normaliseName(f, col, value)
	case fieldFamilyNameKana, fieldGivenNameKana:
		v, fl = normaliseKana(f, col, value)
	case fieldEmail:
		v, fl = normaliseEmail(col, value)
	case fieldTier:
		v, fl = normaliseTier(col, value)
	case fieldLocale:
		v, fl = normaliseLocale(value)
	case fieldDepartedOn:
		d, fl := normaliseDate(col, value)
		return "", d, fl
	}
	return v, time.Time{}, fl
}

// badRune finds a character no member field may hold: a control character
// other than tab and line breaks (which count as spaces), or U+FFFD, the mark
// an earlier faulty conversion left where a character was lost.
func badRune(s string) (rune, bool) {
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
		case r < 0x20 || (r >= 0x7F && r <= 0x9F) || r == utf8.RuneError:
			return r, true
		}
	}
	return 0, false
}

// trimSpace removes white space, including the full-width space U+3000,
// from both ends of s.
func trimSpace(s string) string { return strings.TrimSpace(s) }

// nfkc folds compatibility characters: full-width letters, digits and
// symbols become ASCII, half-width katakana become full-width, U+3000 becomes
// a space.
func nfkc(s string) string {
	if isASCII(s) {
		return s
	}
	return norm.NFKC.String(s)
}

// normaliseEmployeeNo accepts 1 to 32 of A–Z, a–z, 0–9, "-" and "_".
func normaliseEmployeeNo(col, value string) (string, *fault) {
	v := trimSpace(nfkc(value))
	switch {
	case v == "":
		return "", faultRequired(col, fieldEmployeeNo)
	case looksScientific(v):
		return "", faultScientificEmployeeNo(v)
	case len(v) > maxEmployeeNo:
		return "", faultTooLong(fieldEmployeeNo, v, utf8.RuneCountInString(v), maxEmployeeNo)
	}
	for _, r := range v {
		if !isSlugRune(r, true) {
			return "", faultEmployeeNoChar(v, r)
		}
	}
	return v, nil
}

// isSlugRune reports whether r is an ASCII letter (upper case only if upper
// is true), digit, "-" or "_".
func isSlugRune(r rune, upper bool) bool {
	return (r >= 'a' && r <= 'z') || (upper && r >= 'A' && r <= 'Z') ||
		(r >= '0' && r <= '9') || r == '-' || r == '_'
}

// looksScientific reports whether s is a number as Excel shows a long one it
// has converted, such as "1.23457E+11".
func looksScientific(s string) bool {
	mant, exp, ok := strings.Cut(strings.ToUpper(s), "E+")
	if !ok || mant == "" || exp == "" {
		return false
	}
	return strings.Trim(mant, "0123456789.") == "" && strings.Trim(exp, "0123456789") == ""
}

// normaliseName applies the one name rule, model.NormalizeName, which the
// API and the console apply too, and words its faults for the import report.
func normaliseName(f field, col, value string) (string, *fault) {
	v, fl, r := model.NormalizeName(value)
	return v, nameFault(f, col, value, fl, r)
}

// normaliseKana applies model.NormalizeKana: the reading in full-width
// katakana, hiragana and half-width katakana converted, empty allowed.
func normaliseKana(f field, col, value string) (string, *fault) {
	v, fl, r := model.NormalizeKana(value)
	return v, nameFault(f, col, value, fl, r)
}

// nameFault words a fault of the name rule; the code is the rule's.
func nameFault(f field, col, value string, fl model.NameFault, r rune) *fault {
	switch fl {
	case model.FaultNone:
		return nil
	case model.FaultRequired:
		return faultRequired(col, f)
	case model.FaultTooLong:
		v := strings.Join(strings.Fields(value), " ")
		return faultTooLong(f, v, utf8.RuneCountInString(v), model.MaxNameLen)
	case model.FaultInvalidCharacter:
		return faultControlChar(col, value, r)
	case model.FaultInvisibleName:
		return faultInvisibleName(col, value)
	}
	return faultKanaChar(col, strings.Join(strings.Fields(nfkc(value)), " "), r)
}

// normaliseEmail accepts one bare address and lower-cases its domain.
func normaliseEmail(col, value string) (string, *fault) {
	v := trimSpace(nfkc(value))
	if v == "" {
		return "", faultRequired(col, fieldEmail)
	}
	if len(v) > maxEmail {
		return "", faultTooLong(fieldEmail, v, utf8.RuneCountInString(v), maxEmail)
	}
	// splitEmail only explains what is wrong, for the message; the one
	// rule (model.NormalizeEmail) decides and lower-cases the domain.
	if _, _, reason := splitEmail(v); reason != emailOK {
		return "", faultEmail(col, v, reason)
	}
	addr, ok := model.NormalizeEmail(v)
	if !ok {
		return "", faultEmail(col, v, emailSyntax)
	}
	return addr, nil
}

// emailReason says what is wrong with an e-mail address.
type emailReason int

const (
	emailOK emailReason = iota
	emailSyntax
	emailNoAt
	emailManyAt
	emailSpace
	emailAngle
	emailNoLocal
	emailNonASCIILocal
	emailNoDomain
	emailNoDot
	emailBadDomain
)

// splitEmail checks the shape of an address, for specific messages; net/mail
// checks the rest.
func splitEmail(v string) (local, domain string, reason emailReason) {
	switch {
	case strings.ContainsAny(v, "<>"):
		return "", "", emailAngle
	case strings.IndexFunc(v, unicode.IsSpace) >= 0:
		return "", "", emailSpace
	}
	switch strings.Count(v, "@") {
	case 0:
		return "", "", emailNoAt
	case 1:
	default:
		return "", "", emailManyAt
	}
	local, domain, _ = strings.Cut(v, "@")
	switch {
	case local == "":
		return "", "", emailNoLocal
	case !isASCII(local):
		return "", "", emailNonASCIILocal
	case domain == "":
		return "", "", emailNoDomain
	case !strings.Contains(domain, "."):
		return "", "", emailNoDot
	}
	for label := range strings.SplitSeq(domain, ".") {
		if !validLabel(label) {
			return "", "", emailBadDomain
		}
	}
	return local, domain, emailOK
}

// validLabel reports whether label is a plausible DNS label: letters
// (internationalised ones too), digits and inner hyphens.
func validLabel(label string) bool {
	if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
		return false
	}
	for _, r := range label {
		if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// normaliseTier accepts a slug of 1 to 16 of a–z, 0–9, "-" and "_", after
// lower-casing.
func normaliseTier(col, value string) (string, *fault) {
	v := strings.ToLower(trimSpace(nfkc(value)))
	if v == "" {
		return "", faultRequired(col, fieldTier)
	}
	for _, r := range v {
		if !isSlugRune(r, false) {
			return "", faultTierChar(v, r)
		}
	}
	if len(v) > maxTier {
		return "", faultTooLong(fieldTier, v, len(v), maxTier)
	}
	return v, nil
}

// normaliseLocale accepts ja or en in common spellings; empty means ja.
func normaliseLocale(value string) (string, *fault) {
	if v, ok := model.ParseLocale(value); ok {
		return v, nil
	}
	return "", faultLocale(value)
}

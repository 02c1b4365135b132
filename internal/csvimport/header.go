package csvimport

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// field is a member attribute that a column can hold.
type field int

const (
	fieldNone field = iota // an unknown or unnamed column
	fieldEmployeeNo
	fieldFamilyName
	fieldGivenName
	fieldFamilyNameKana
	fieldGivenNameKana
	fieldEmail
	fieldTier
	fieldDepartedOn
	fieldLocale
	fieldCount
)

// fieldInfo describes a field for header matching and for messages.
type fieldInfo struct {
	api      string   // the API name, also an accepted header
	ja       string   // the Japanese header HR systems export
	required bool     // a file without this column is refused
	nounEN   string   // how an English message names a value of it
	aliases  []string // other accepted headers, matched after headerKey
}

// info returns the description of f.
func (f field) info() fieldInfo {
	switch f {
	case fieldEmployeeNo:
		return fieldInfo{"employee_no", "社員番号", true, "employee number", []string{
			"employee_number", "employee_id", "emp_no", "従業員番号", "社員コード",
			"従業員コード", "職員番号", "社員No", "社員ID", "従業員ID"}}
	case fieldFamilyName:
		return fieldInfo{"family_name", "姓", true, "family name", []string{
			"last_name", "surname", "氏", "苗字", "名字", "姓(漢字)", "氏(漢字)", "氏名(姓)"}}
	case fieldGivenName:
		return fieldInfo{"given_name", "名", true, "given name", []string{
			"first_name", "名(漢字)", "氏名(名)"}}
	case fieldFamilyNameKana:
		return fieldInfo{"family_name_kana", "セイ", false, "family name in kana", []string{
			"last_name_kana", "せい", "姓(カナ)", "氏(カナ)", "姓カナ", "氏カナ", "カナ姓",
			"カナ氏", "姓(フリガナ)", "フリガナ(姓)", "フリガナ姓", "姓フリガナ",
			"姓(ふりがな)", "ふりがな(姓)", "ふりがな姓"}}
	case fieldGivenNameKana:
		return fieldInfo{"given_name_kana", "メイ", false, "given name in kana", []string{
			"first_name_kana", "めい", "名(カナ)", "名カナ", "カナ名", "名(フリガナ)",
			"フリガナ(名)", "フリガナ名", "名フリガナ", "名(ふりがな)", "ふりがな(名)",
			"ふりがな名"}}
	case fieldEmail:
		return fieldInfo{"email", "メールアドレス", true, "e-mail address", []string{
			"e-mail", "email_address", "e-mail_address", "mail", "mail_address", "メール",
			"Eメール", "Eメールアドレス", "電子メール", "電子メールアドレス"}}
	case fieldTier:
		return fieldInfo{"tier", "区分", true, "tier", []string{
			"会員区分", "会員種別", "ランク", "会員ランク"}}
	case fieldDepartedOn:
		return fieldInfo{"departed_on", "退職日", true, "departure date", []string{
			"departure_date", "退職年月日", "退社日"}}
	case fieldLocale:
		return fieldInfo{"locale", "言語", false, "language", []string{
			"language", "lang", "使用言語"}}
	}
	return fieldInfo{}
}

// apiName returns the API name of f, as in the JSON API.
func (f field) apiName() string { return f.info().api }

// headerKey folds a header cell for matching: compatibility forms
// (full-width letters and brackets, half-width katakana) become ordinary
// ones, ASCII case is ignored, and spaces, "_", "-" and "." are dropped, so
// "Employee No", "ＥＭＰＬＯＹＥＥ＿ＮＯ" and "employee-no" all match.
func headerKey(name string) string {
	s := strings.ToLower(norm.NFKC.String(name))
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '_' || r == '-' || r == '.' {
			return -1
		}
		return r
	}, s)
}

// headerFields maps every accepted header, folded by headerKey, to its field.
func headerFields() map[string]field {
	m := make(map[string]field, 100)
	for f := fieldNone + 1; f < fieldCount; f++ {
		in := f.info()
		m[headerKey(in.api)] = f
		m[headerKey(in.ja)] = f
		for _, a := range in.aliases {
			m[headerKey(a)] = f
		}
	}
	return m
}

// column is one cell of the header row.
type column struct {
	name     string // the header text, trimmed
	field    field
	ignored  bool // a second column for a field already present
	reported bool // an unnamed column whose values were reported
}

// readHeader maps the header cells to fields and reports missing, duplicate
// and unknown columns. It returns false when the records cannot be checked at
// all: the header cannot be decoded or names no known column.
func (p *parser) readHeader(header []string, line int) bool {
	known := headerFields()
	p.cols = make([]column, len(header))
	var first [fieldCount]int // 1-based index of the column holding a field
	for i, raw := range header {
		text, bad := p.dec.decode(raw)
		if bad != nil {
			// The rest of the file is surely in the same encoding: one
			// problem says it all.
			p.add(line, "", faultBadHeaderEncoding(i+1, *bad, p.dec))
			return false
		}
		name := strings.TrimFunc(text, func(r rune) bool { return unicode.IsSpace(r) || r == '\uFEFF' })
		c := column{name: name}
		if name != "" {
			c.field = known[headerKey(name)]
		}
		switch {
		case name == "":
			// Unnamed; its values are reported if it has any.
		case c.field == fieldNone:
			p.add(line, name, faultUnknownColumn(name))
		case first[c.field] != 0:
			c.ignored = true
			p.add(line, name, faultDuplicateColumn(name, p.cols[first[c.field]-1].name, c.field))
		default:
			first[c.field] = i + 1
		}
		p.cols[i] = c
	}
	anyKnown := false
	for f := fieldNone + 1; f < fieldCount; f++ {
		if first[f] != 0 {
			anyKnown = true
		} else if f.info().required {
			p.add(line, f.apiName(), faultMissingColumn(f))
		}
	}
	return anyKnown
}

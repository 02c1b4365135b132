package csvimport

import (
	"strings"
	"testing"
	"time"
)

// jaColumns returns the columns of jaHeader, in order.
func jaColumns() []string { return strings.Split(strings.TrimSpace(jaHeader), ",") }

// lineWith returns validLine with the value of column col replaced by v,
// quoted as Excel would.
func lineWith(t *testing.T, col, v string) string {
	t.Helper()
	values := strings.Split(strings.TrimSpace(validLine), ",")
	for i, c := range jaColumns() {
		if c == col {
			values[i] = `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
			return strings.Join(values, ",") + "\n"
		}
	}
	t.Fatalf("no column %q", col)
	return ""
}

func TestValidationFailures(t *testing.T) {
	tests := []struct {
		col, value, code string
		message          string // a part of the English message, when it matters
	}{
		{"社員番号", "", CodeRequired, "employee number is empty"},
		{"社員番号", "　", CodeRequired, ""},
		{"社員番号", "E 001", CodeInvalidEmployeeNo, "contains a space"},
		{"社員番号", "E/001", CodeInvalidEmployeeNo, `contains "/" (U+002F)`},
		{"社員番号", "社員1", CodeInvalidEmployeeNo, ""},
		{"社員番号", strings.Repeat("9", 33), CodeTooLong, "33 characters long; at most 32"},
		{"社員番号", "1.23457E+11", CodeInvalidEmployeeNo, "scientific notation"},
		{"姓", "", CodeRequired, "family name is empty"},
		{"姓", " \u3000 ", CodeRequired, ""},
		{"姓", strings.Repeat("山", 65), CodeTooLong, "65 characters long; at most 64"},
		{"名", "太\x01郎", CodeInvalidCharacter, "U+0001"},
		{"名", "", CodeRequired, "given name is empty"},
		{"セイ", "山田", CodeInvalidKana, `contains "山" (U+5C71)`},
		{"セイ", "yamada", CodeInvalidKana, ""},
		{"メイ", "タロウ1", CodeInvalidKana, ""},
		{"メイ", strings.Repeat("タ", 65), CodeTooLong, "given name in kana"},
		{"メールアドレス", "", CodeRequired, ""},
		{"メールアドレス", "taro.example.com", CodeInvalidEmail, `has no "@"`},
		{"メールアドレス", "taro@@example.com", CodeInvalidEmail, `more than one "@"`},
		{"メールアドレス", "taro@example", CodeInvalidEmail, "has no dot"},
		{"メールアドレス", "@example.com", CodeInvalidEmail, "nothing comes before"},
		{"メールアドレス", "taro@", CodeInvalidEmail, "nothing comes after"},
		{"メールアドレス", "taro@example..com", CodeInvalidEmail, "domain"},
		{"メールアドレス", "taro@-example.com", CodeInvalidEmail, "domain"},
		{"メールアドレス", "taro@exa_mple.com", CodeInvalidEmail, "domain"},
		{"メールアドレス", "Taro <taro@example.com>", CodeInvalidEmail, "a name"},
		{"メールアドレス", "taro@example.com hanako@example.com", CodeInvalidEmail, "space"},
		{"メールアドレス", "taro@example.com;hanako@example.com", CodeInvalidEmail, ""},
		{"メールアドレス", "taro..yamada@example.com", CodeInvalidEmail, ""},
		{"メールアドレス", "山田@example.com", CodeInvalidEmail, "half-width"},
		{"メールアドレス", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 190) + ".com", CodeTooLong, ""},
		{"区分", "", CodeRequired, "tier is empty"},
		{"区分", "ゴールド", CodeInvalidTier, ""},
		{"区分", "gold member", CodeInvalidTier, "a space"},
		{"区分", "platinum-premium-x", CodeTooLong, "at most 16"},
		{"退職日", "", CodeRequired, "departure date is empty"},
		{"退職日", "45382", CodeInvalidDate, "Excel date serial number (it would be 2024-03-31)"},
		{"退職日", "2024-02-30", CodeInvalidDate, "no such day"},
		{"退職日", "2023/2/29", CodeInvalidDate, "no such day"},
		{"退職日", "2024-13-01", CodeInvalidDate, "no such day"},
		{"退職日", "24/3/31", CodeInvalidDate, "four digits"},
		{"退職日", "3/31/2024", CodeInvalidDate, "year must come first"},
		{"退職日", "令和6年3月31日", CodeInvalidDate, "Japanese era"},
		{"退職日", "R6.3.31", CodeInvalidDate, "Japanese era"},
		{"退職日", "2024/3/31 12:00", CodeInvalidDate, "time of day"},
		{"退職日", "1899-12-31", CodeInvalidDate, "between 1900 and 2100"},
		{"退職日", "2024-03", CodeInvalidDate, "format"},
		{"退職日", "2024-3/31", CodeInvalidDate, "format"},
		{"退職日", "March 31, 2024", CodeInvalidDate, "format"},
		{"言語", "fr", CodeInvalidLocale, `"fr"`},
		{"言語", "japan", CodeInvalidLocale, ""},
	}
	for _, tt := range tests {
		t.Run(tt.col+"/"+tt.value, func(t *testing.T) {
			// The faulty record is on line 4, after a record spanning lines 2–3.
			in := jaHeader + strings.Replace(lineWith(t, "名", "太\n郎"), "E0001", "E0000", 1) + lineWith(t, tt.col, tt.value)
			rows, problems := parse(t, in, Options{})
			wantProblems(t, problems, where{4, tt.col, tt.code})
			if len(rows) != 1 || rows[0].Line != 2 {
				t.Errorf("rows = %+v, want only the valid record of line 2", rows)
			}
			if len(problems) == 1 && !strings.Contains(problems[0].Message, tt.message) {
				t.Errorf("message %q does not contain %q", problems[0].Message, tt.message)
			}
		})
	}
}

func TestNormalisation(t *testing.T) {
	tests := []struct {
		col, value string
		get        func(Row) string
		want       string
	}{
		{"社員番号", "Ｅ０００１", func(r Row) string { return r.EmployeeNo }, "E0001"},
		{"社員番号", " E0001\u3000", func(r Row) string { return r.EmployeeNo }, "E0001"},
		{"社員番号", "00123", func(r Row) string { return r.EmployeeNo }, "00123"},
		{"姓", "\u3000山田 ", func(r Row) string { return r.FamilyName }, "山田"},
		{"姓", "山田\u3000\u3000 太郎", func(r Row) string { return r.FamilyName }, "山田 太郎"},
		{"姓", "髙﨑①", func(r Row) string { return r.FamilyName }, "髙﨑①"},
		{"姓", "ﾔﾏﾀﾞ", func(r Row) string { return r.FamilyName }, "ﾔﾏﾀﾞ"},
		{"名", "Mary\nAnn", func(r Row) string { return r.GivenName }, "Mary Ann"},
		{"セイ", "やまだ", func(r Row) string { return r.FamilyNameKana }, "ヤマダ"},
		{"セイ", "ﾔﾏﾀﾞ", func(r Row) string { return r.FamilyNameKana }, "ヤマダ"},
		{"セイ", "ゔぁーじにあ", func(r Row) string { return r.FamilyNameKana }, "ヴァージニア"},
		{"セイ", "", func(r Row) string { return r.FamilyNameKana }, ""},
		{"メイ", "ジョン・ｽﾐｽ", func(r Row) string { return r.GivenNameKana }, "ジョン・スミス"},
		{"メイ", "ハナコ\u3000マリア", func(r Row) string { return r.GivenNameKana }, "ハナコ マリア"},
		{"メールアドレス", "ｔａｒｏ＠ＥＸＡＭＰＬＥ．ｃｏｍ", func(r Row) string { return r.Email }, "taro@example.com"},
		{"メールアドレス", " Taro.Y+alumni@Example.CO.JP ", func(r Row) string { return r.Email }, "Taro.Y+alumni@example.co.jp"},
		{"区分", "GOLD", func(r Row) string { return r.Tier }, "gold"},
		{"区分", "ｓｉｌｖｅｒ＿２", func(r Row) string { return r.Tier }, "silver_2"},
		{"言語", "", func(r Row) string { return r.Locale }, "ja"},
		{"言語", "日本語", func(r Row) string { return r.Locale }, "ja"},
		{"言語", "ja-JP", func(r Row) string { return r.Locale }, "ja"},
		{"言語", "英語", func(r Row) string { return r.Locale }, "en"},
		{"言語", "EN", func(r Row) string { return r.Locale }, "en"},
		{"言語", "en-US", func(r Row) string { return r.Locale }, "en"},
		{"言語", "ｅｎ", func(r Row) string { return r.Locale }, "en"},
	}
	for _, tt := range tests {
		t.Run(tt.col+"/"+tt.value, func(t *testing.T) {
			rows, problems := parse(t, jaHeader+lineWith(t, tt.col, tt.value), Options{})
			wantProblems(t, problems)
			if len(rows) != 1 {
				t.Fatalf("got %d rows, want 1", len(rows))
			}
			if got := tt.get(rows[0]); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDates(t *testing.T) {
	want := time.Date(2024, 3, 31, 0, 0, 0, 0, time.UTC)
	for _, v := range []string{
		"2024-03-31", "2024-3-31", "2024/3/31", "2024/03/31", "2024.3.31", "2024年3月31日", "２０２４年３月３１日",
		"２０２４／０３／３１", "20240331", "2024/3/31 0:00", "2024/03/31 00:00:00", " 2024-03-31 ",
	} {
		t.Run(v, func(t *testing.T) {
			rows, problems := parse(t, jaHeader+lineWith(t, "退職日", v), Options{})
			wantProblems(t, problems)
			if len(rows) != 1 || !rows[0].DepartedOn.Equal(want) || rows[0].DepartedOn.Location() != time.UTC {
				t.Fatalf("rows = %+v, want departure %v", rows, want)
			}
		})
	}
}

package csvimport

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// jaHeader is the header row HR systems export, in the documented order.
const jaHeader = "社員番号,姓,名,セイ,メイ,メールアドレス,区分,退職日,言語\n"

// validLine is a valid record for jaHeader.
const validLine = "E0001,山田,太郎,ヤマダ,タロウ,taro@example.com,gold,2024-03-31,ja\n"

// where locates a problem for comparison.
type where struct {
	Line   int
	Column string
	Code   string
}

func wheres(ps []Problem) []where {
	out := make([]where, len(ps))
	for i, p := range ps {
		out[i] = where{p.Line, p.Column, p.Code}
	}
	return out
}

// parse runs Parse on in and checks what holds for every result: no error,
// and every problem has a code and both messages.
func parse(t *testing.T, in string, opt Options) ([]Row, []Problem) {
	t.Helper()
	rows, problems, err := Parse(strings.NewReader(in), opt)
	if err != nil {
		t.Fatalf("Parse: unexpected error %v", err)
	}
	for _, p := range problems {
		if p.Code == "" || p.Message == "" || p.MessageJA == "" {
			t.Errorf("problem without code or message: %+v", p)
		}
	}
	return rows, problems
}

// wantProblems compares problems with want, in order.
func wantProblems(t *testing.T, got []Problem, want ...where) {
	t.Helper()
	if want == nil {
		want = []where{}
	}
	if g := wheres(got); !reflect.DeepEqual(g, want) {
		t.Errorf("problems:\n got  %+v\n want %+v", g, want)
		for _, p := range got {
			t.Logf("  %d %q %s: %s", p.Line, p.Column, p.Code, p.Message)
		}
	}
}

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		file     string
		encoding string
		want     []Row
	}{
		{"members_cp932.csv", "", fixtureCP932Rows()},
		{"members_cp932.csv", "auto", fixtureCP932Rows()},
		{"members_cp932.csv", "shift_jis", fixtureCP932Rows()},
		{"members_cp932.csv", "Shift-JIS", fixtureCP932Rows()},
		{"members_cp932.csv", "sjis", fixtureCP932Rows()},
		{"members_cp932.csv", "cp932", fixtureCP932Rows()},
		{"members_cp932.csv", "windows-31j", fixtureCP932Rows()},
		{"members_utf8.csv", "", fixtureUTF8Rows()},
		{"members_utf8.csv", "utf-8", fixtureUTF8Rows()},
		{"members_utf8_bom.csv", "", fixtureUTF8BOMRows()},
		{"members_utf8_bom.csv", "UTF8", fixtureUTF8BOMRows()},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.encoding, func(t *testing.T) {
			rows, problems := parse(t, string(readFixture(t, tt.file)), Options{Encoding: tt.encoding})
			wantProblems(t, problems)
			if !reflect.DeepEqual(rows, tt.want) {
				t.Errorf("rows:\n got  %+v\n want %+v", rows, tt.want)
			}
		})
	}
}

func TestCP932Characters(t *testing.T) {
	// Each code is put in a family name, which is kept exactly as written.
	tests := []struct {
		name  string
		bytes raw
		want  string
	}{
		{"髙 IBM extension", sjisTaka, "髙"},
		{"髙 NEC-selected IBM extension", sjisTakaNEC, "髙"},
		{"﨑 IBM extension", sjisSaki, "﨑"},
		{"﨑 NEC-selected IBM extension", "\xED\x95", "﨑"},
		{"① NEC special", sjisCircle1, "①"},
		{"⑳ NEC special", "\x87\x53", "⑳"},
		{"㈱ NEC special", sjisKabu, "㈱"},
		{"Ⅰ NEC special", "\x87\x54", "Ⅰ"},
		{"ⅰ IBM extension", "\xFA\x40", "ⅰ"},
		{"ⅰ NEC-selected IBM extension", "\xEE\xEF", "ⅰ"},
		{"纊 NEC-selected IBM extension", "\xED\x40", "纊"},
		{"黑 last IBM extension", "\xFC\x4B", "黑"},
		{"～ wave dash as Windows maps it", "\x81\x60", "\uFF5E"},
		{"∥ parallel", "\x81\x61", "∥"},
		{"－ minus", "\x81\x7C", "\uFF0D"},
		{"￢ not sign", "\x81\xCA", "￢"},
		{"ソ trail byte 0x5C", "\x83\x5C", "ソ"},
		{"ｱ half-width katakana", "\xB1", "ｱ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := cp932(t, "employee_no,family_name,given_name,email,tier,departed_on\r\n",
				"E1,山", tt.bytes, ",太郎,t@example.com,gold,2024-03-31\r\n")
			rows, problems := parse(t, string(in), Options{Encoding: "cp932"})
			wantProblems(t, problems)
			if len(rows) != 1 || rows[0].FamilyName != "山"+tt.want {
				t.Fatalf("rows = %+v, want family name %q", rows, "山"+tt.want)
			}
		})
	}
}

func TestEncodingProblems(t *testing.T) {
	apiHeader := "employee_no,family_name,given_name,email,tier,departed_on\r\n"
	tests := []struct {
		name     string
		in       []byte
		encoding string
		want     []where
		rows     int
		message  string // a part of the first problem's message
	}{
		{
			name: "CP932 file read as UTF-8: the header", in: fixtureCP932(t), encoding: "utf-8",
			want:    []where{{1, "", CodeBadEncoding}},
			message: "import it with encoding auto or shift_jis",
		},
		{
			name: "CP932 file read as UTF-8: the values",
			in: cp932(t, apiHeader,
				"E1,髙橋,一郎,a@example.com,gold,2024-03-31\r\n",
				"E2,Smith,John,b@example.com,gold,2024-03-31\r\n",
				"E3,山田,Taro,c@example.com,gold,2024-03-31\r\n"),
			encoding: "utf-8",
			want:     []where{{2, "family_name", CodeBadEncoding}, {2, "given_name", CodeBadEncoding}, {4, "family_name", CodeBadEncoding}},
			rows:     1,
			message:  "cannot be read as UTF-8 (bytes 0xEE, at the start of the value)",
		},
		{
			name: "UTF-8 file read as Shift_JIS", in: fixtureUTF8(t), encoding: "shift_jis",
			want: []where{{1, "", CodeBadEncoding}}, message: "The file is UTF-8",
		},
		{
			name: "UTF-8 file with non-ASCII only on line 3 read as Shift_JIS", encoding: "sjis",
			in:   []byte(apiHeader + "E1,Smith,John,b@example.com,gold,2024-03-31\r\nE2,山田,太郎,a@example.com,gold,2024-03-31\r\n"),
			want: []where{{3, "", CodeBadEncoding}},
		},
		{
			name: "UTF-16, as Excel's Unicode text", encoding: "",
			in:   []byte("\xFF\xFEe\x00m\x00"),
			want: []where{{1, "", CodeBadEncoding}}, message: "UTF-16",
		},
		{
			name: "UTF-8 with BOM read as Shift_JIS", in: fixtureUTF8BOM(t), encoding: "cp932",
			want: []where{{1, "", CodeBadEncoding}},
		},
		{
			name: "invalid CP932 bytes, auto-detected",
			in: cp932(t, apiHeader,
				"E1,山", raw("\x85\x40"), ",太郎,a@example.com,gold,2024-03-31\r\n", // unmapped code
				"E2,山田,", raw("\xF0\x40"), ",b@example.com,gold,2024-03-31\r\n", // user-defined (外字)
				"E3,", raw("\x80"), ",太郎,c@example.com,gold,2024-03-31\r\n", // 0x80 is no character
				"E4,山田", raw("\x88"), ",Taro,d@example.com,gold,2024-03-31\r\n", // lead byte without trail
				"E5,髙橋,一郎,e@example.com,gold,2024-03-31\r\n"),
			want: []where{{2, "family_name", CodeBadEncoding}, {3, "given_name", CodeBadEncoding},
				{4, "family_name", CodeBadEncoding}, {5, "family_name", CodeBadEncoding}},
			rows:    1,
			message: `cannot be read as Shift_JIS (CP932) (bytes 0x85 0x40, after "山")`,
		},
		{
			name: "user-defined character is named as such",
			in:   cp932(t, apiHeader, "E2,山田,", raw("\xF0\x40"), ",b@example.com,gold,2024-03-31\r\n"),
			want: []where{{2, "given_name", CodeBadEncoding}}, message: "user-defined character (外字, bytes 0xF0 0x40",
		},
		{
			name: "mostly UTF-8 with one damaged value stays UTF-8",
			in: []byte(apiHeader +
				"E1,髙橋,一郎,a@example.com,gold,2024-03-31\r\n" +
				"E2,山\x8e\x52,花子,b@example.com,gold,2024-03-31\r\n" +
				"E3,山﨑,次郎,c@example.com,gold,2024-03-31\r\n"),
			want: []where{{3, "family_name", CodeBadEncoding}}, rows: 2,
			message: `not valid UTF-8 (0x8E, after "山")`,
		},
		{
			name: "replacement character left by an earlier conversion",
			in:   []byte(apiHeader + "E1,山\uFFFD,一郎,a@example.com,gold,2024-03-31\r\n"),
			want: []where{{2, "family_name", CodeBadEncoding}}, message: "lost in an earlier conversion",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, problems := parse(t, string(tt.in), Options{Encoding: tt.encoding})
			wantProblems(t, problems, tt.want...)
			if len(rows) != tt.rows {
				t.Errorf("got %d rows, want %d", len(rows), tt.rows)
			}
			if tt.message != "" && len(problems) > 0 && !strings.Contains(problems[0].Message, tt.message) {
				t.Errorf("message %q does not contain %q", problems[0].Message, tt.message)
			}
		})
	}
}

func TestMostlyUTF8KeepsGoodRows(t *testing.T) {
	in := "employee_no,family_name,given_name,email,tier,departed_on\n" +
		"E1,髙橋,一郎,a@example.com,gold,2024-03-31\n" +
		"E2,山\xff,花子,b@example.com,gold,2024-03-31\n" +
		"E3,佐藤,次郎,c@example.com,gold,2024-03-31\n"
	rows, _ := parse(t, in, Options{})
	if len(rows) != 2 || rows[0].FamilyName != "髙橋" {
		t.Fatalf("rows = %+v, want 髙橋 read as UTF-8", rows)
	}
}

func TestParseErrors(t *testing.T) {
	t.Run("unknown encoding", func(t *testing.T) {
		_, _, err := Parse(strings.NewReader(jaHeader), Options{Encoding: "latin1"})
		if !errors.Is(err, ErrUnknownEncoding) {
			t.Fatalf("err = %v, want ErrUnknownEncoding", err)
		}
	})
	t.Run("read failure", func(t *testing.T) {
		boom := errors.New("boom")
		_, _, err := Parse(iotest.ErrReader(boom), Options{})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want it to wrap the reader's error", err)
		}
	})
}

func TestLineNumbers(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		rowLines  []int
		problemAt int // line of the invalid e-mail in the last record
	}{
		{
			name: "LF, quoted comma and line breaks",
			in: jaHeader +
				"E1,\"山田, 本家\",\"太\n郎\",,,a@example.com,gold,2024-03-31,\n" +
				"E2,佐藤,\"花\n\n子\",,,b@example.com,gold,2024-03-31,\n" +
				"E3,鈴木,次郎,,,not-an-address,gold,2024-03-31,\n",
			rowLines: []int{2, 4}, problemAt: 7,
		},
		{
			name: "CRLF, quoted line breaks and doubled quotes",
			in: strings.ReplaceAll(jaHeader, "\n", "\r\n") +
				"E1,\"山田 \"\"本家\"\"\",\"太\r\n郎\",,,a@example.com,gold,2024-03-31,\r\n" +
				"E2,佐藤,\"花\r\n\r\n子\",,,b@example.com,gold,2024-03-31,\r\n" +
				"E3,鈴木,次郎,,,not-an-address,gold,2024-03-31,\r\n",
			rowLines: []int{2, 4}, problemAt: 7,
		},
		{
			name: "blank and comma-only lines are skipped but counted",
			in: jaHeader + "\n" +
				"E1,山田,太郎,,,a@example.com,gold,2024-03-31,\n" +
				",,,,,,,,\n" + "   \n" +
				"E2,佐藤,花子,,,b@example.com,gold,2024-03-31,\n" +
				"E3,鈴木,次郎,,,not-an-address,gold,2024-03-31,\n\n\n",
			rowLines: []int{3, 6}, problemAt: 7,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, problems := parse(t, tt.in, Options{})
			var lines []int
			for _, r := range rows {
				lines = append(lines, r.Line)
			}
			if !reflect.DeepEqual(lines, tt.rowLines) {
				t.Errorf("row lines = %v, want %v", lines, tt.rowLines)
			}
			wantProblems(t, problems, where{tt.problemAt, "メールアドレス", CodeInvalidEmail})
		})
	}
	t.Run("values keep their inner commas and quotes", func(t *testing.T) {
		rows, _ := parse(t, tests[1].in, Options{})
		if rows[0].FamilyName != `山田 "本家"` || rows[0].GivenName != "太 郎" || rows[1].GivenName != "花 子" {
			t.Errorf("rows = %+v", rows)
		}
	})
}

func TestStructureProblems(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opt  Options
		want []where
		rows int
	}{
		{"empty file", "", Options{}, []where{{1, "", CodeEmptyFile}}, 0},
		{"BOM only", "\uFEFF", Options{}, []where{{1, "", CodeEmptyFile}}, 0},
		{"blank lines only", "\r\n\r\n", Options{}, []where{{1, "", CodeEmptyFile}}, 0},
		{"header only", jaHeader, Options{}, nil, 0},
		{
			"bare quote inside a value",
			jaHeader + "E1,山\"田,太郎,,,a@example.com,gold,2024-03-31,\n" + validLine,
			Options{}, []where{{2, "", CodeBadQuoting}}, 1,
		},
		{
			"text after a closing quote",
			jaHeader + "E1,\"山田\"x,太郎,,,a@example.com,gold,2024-03-31,\n" + validLine,
			Options{}, []where{{2, "", CodeBadQuoting}}, 1,
		},
		{
			"quote never closed",
			jaHeader + validLine + "E2,\"山田,太郎,,,a@example.com,gold,2024-03-31,\nE3,x\n",
			Options{}, []where{{3, "", CodeBadQuoting}}, 1,
		},
		{
			"too few and too many values",
			jaHeader + "E1,山田,太郎,a@example.com,gold,2024-03-31\n" + validLine +
				"E3,山田,太郎,,,c@example.com,gold,2024-03-31,ja,extra\n",
			Options{}, []where{{2, "", CodeWrongFieldCount}, {4, "", CodeWrongFieldCount}}, 1,
		},
		{
			"too many rows",
			jaHeader + validLine + strings.Replace(validLine, "E0001", "E0002", 1) +
				strings.Replace(validLine, "E0001", "E0003", 1) + strings.Replace(validLine, "E0001", "E0004", 1),
			Options{MaxRows: 2}, []where{{4, "", CodeTooManyRows}}, 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, problems := parse(t, tt.in, tt.opt)
			wantProblems(t, problems, tt.want...)
			if len(rows) != tt.rows {
				t.Errorf("got %d rows, want %d", len(rows), tt.rows)
			}
		})
	}
	t.Run("a multi-line quoting problem names both lines", func(t *testing.T) {
		_, problems := parse(t, jaHeader+"E2,\"山田,太郎\n,,,a@example.com,gold,2024-03-31,\n", Options{})
		if len(problems) != 1 || !strings.Contains(problems[0].Message, "starts on line 2") {
			t.Errorf("problems = %+v", problems)
		}
	})
}

func TestHeaders(t *testing.T) {
	tests := []struct {
		name   string
		header string
		line   string
		want   []where
		check  func(t *testing.T, r Row)
	}{
		{
			name:   "Japanese headers shuffled",
			header: "退職日,メイ,区分,メールアドレス,言語,名,セイ,姓,社員番号",
			line:   "2024/3/31,タロウ,gold,taro@example.com,en,太郎,ヤマダ,山田,E1",
			check: func(t *testing.T, r Row) {
				want := Row{Line: 2, EmployeeNo: "E1", FamilyName: "山田", GivenName: "太郎", FamilyNameKana: "ヤマダ",
					GivenNameKana: "タロウ", Email: "taro@example.com", Tier: "gold", Locale: "en", DepartedOn: day(2024, 3, 31)}
				if r != want {
					t.Errorf("row = %+v, want %+v", r, want)
				}
			},
		},
		{
			name:   "variants, spaces, full-width and case",
			header: " 従業員番号　,氏,名（漢字）,姓（カナ）,フリガナ名,Ｅメールアドレス,会員区分,退職年月日,Language",
			line:   "E1,山田,太郎,やまだ,ﾀﾛｳ,taro@example.com,gold,2024/3/31,英語",
			check: func(t *testing.T, r Row) {
				if r.EmployeeNo != "E1" || r.FamilyName != "山田" || r.GivenName != "太郎" || r.FamilyNameKana != "ヤマダ" ||
					r.GivenNameKana != "タロウ" || r.Email != "taro@example.com" || r.Tier != "gold" || r.Locale != "en" {
					t.Errorf("row = %+v", r)
				}
			},
		},
		{
			name:   "API names in upper case and with spaces",
			header: "EMPLOYEE_NO,Family Name,given-name,E-Mail,Tier,Departed_On",
			line:   "E1,Smith,John,john@example.com,gold,2024-03-31",
			check: func(t *testing.T, r Row) {
				if r.EmployeeNo != "E1" || r.FamilyName != "Smith" || r.Email != "john@example.com" || r.Locale != "ja" {
					t.Errorf("row = %+v", r)
				}
			},
		},
		{
			name:   "missing required columns; the others are still checked",
			header: "社員番号,姓,名,メールアドレス",
			line:   "E1,山田,太郎,taro@",
			want: []where{{1, "tier", CodeMissingColumn}, {1, "departed_on", CodeMissingColumn},
				{2, "メールアドレス", CodeInvalidEmail}},
		},
		{
			name:   "unknown column",
			header: "社員番号,姓,名,メアド,区分,退職日,メールアドレス",
			line:   "E1,山田,太郎,x,gold,2024-03-31,taro@example.com",
			want:   []where{{1, "メアド", CodeUnknownColumn}},
		},
		{
			name:   "full name in one column",
			header: "社員番号,氏名,メールアドレス,区分,退職日",
			line:   "E1,山田 太郎,taro@example.com,gold,2024-03-31",
			want: []where{{1, "氏名", CodeUnknownColumn}, {1, "family_name", CodeMissingColumn},
				{1, "given_name", CodeMissingColumn}},
		},
		{
			name:   "duplicate column under another name",
			header: "社員番号,姓,名,メールアドレス,区分,退職日,従業員番号",
			line:   "E1,山田,太郎,taro@example.com,gold,2024-03-31,E2",
			want:   []where{{1, "従業員番号", CodeDuplicateColumn}},
		},
		{
			name:   "duplicate column under the same name",
			header: "社員番号,姓,名,メールアドレス,区分,退職日,姓",
			line:   "E1,山田,太郎,taro@example.com,gold,2024-03-31,田中",
			want:   []where{{1, "姓", CodeDuplicateColumn}},
		},
		{
			name:   "unnamed empty column is ignored",
			header: "社員番号,姓,名,メールアドレス,区分,退職日,",
			line:   "E1,山田,太郎,taro@example.com,gold,2024-03-31,",
		},
		{
			name:   "unnamed column with a value",
			header: "社員番号,姓,名,メールアドレス,区分,退職日,",
			line:   "E1,山田,太郎,taro@example.com,gold,2024-03-31,memo",
			want:   []where{{2, "", CodeUnknownColumn}},
		},
		{
			name:   "tab-separated file",
			header: "社員番号\t姓\t名\tメールアドレス\t区分\t退職日",
			line:   "E1\t山田\t太郎\ttaro@example.com\tgold\t2024-03-31",
			want: []where{{1, "社員番号\t姓\t名\tメールアドレス\t区分\t退職日", CodeUnknownColumn},
				{1, "employee_no", CodeMissingColumn}, {1, "family_name", CodeMissingColumn},
				{1, "given_name", CodeMissingColumn}, {1, "email", CodeMissingColumn},
				{1, "tier", CodeMissingColumn}, {1, "departed_on", CodeMissingColumn}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, problems := parse(t, tt.header+"\r\n"+tt.line+"\r\n", Options{})
			wantProblems(t, problems, tt.want...)
			if tt.check != nil {
				if len(rows) != 1 {
					t.Fatalf("got %d rows, want 1", len(rows))
				}
				tt.check(t, rows[0])
			}
		})
	}
	t.Run("hints", func(t *testing.T) {
		_, problems := parse(t, "社員番号,氏名,フリガナ,区分,退職日,メールアドレス\nE1,山田 太郎,ヤマダ タロウ,gold,2024-03-31,a@example.com\n", Options{})
		if !strings.Contains(problems[0].Message, "two columns, 姓 and 名") ||
			!strings.Contains(problems[1].MessageJA, "「セイ」「メイ」の2列") {
			t.Errorf("problems = %+v", problems)
		}
	})
}

func TestHeaderAliasesAreUnambiguous(t *testing.T) {
	seen := map[string]field{}
	for f := fieldNone + 1; f < fieldCount; f++ {
		in := f.info()
		for _, name := range append([]string{in.api, in.ja}, in.aliases...) {
			k := headerKey(name)
			if other, ok := seen[k]; ok && other != f {
				t.Errorf("header %q means both %s and %s", name, other.apiName(), f.apiName())
			}
			seen[k] = f
		}
	}
}

func TestDuplicateEmployeeNo(t *testing.T) {
	in := jaHeader + validLine +
		"E0002,佐藤,花子,,,hanako@example.com,gold,2024-03-31,\n" +
		"E0001,鈴木,次郎,,,jiro@example.com,gold,2024-03-31,\n" +
		"Ｅ０００１,高橋,三郎,,,saburo@example.com,gold,2024-03-31,\n"
	rows, problems := parse(t, in, Options{})
	wantProblems(t, problems, where{4, "社員番号", CodeDuplicateEmployeeNo}, where{5, "社員番号", CodeDuplicateEmployeeNo})
	if len(rows) != 2 {
		t.Errorf("got %d rows, want 2", len(rows))
	}
	if !strings.Contains(problems[1].Message, "already appears on line 2") ||
		!strings.Contains(problems[1].MessageJA, "2行目にも") {
		t.Errorf("message does not name the first line: %+v", problems[1])
	}
}

func TestAllProblemsReported(t *testing.T) {
	in := jaHeader +
		"E 1,,太郎,山田,タロウ,taro,Gold!,2024-02-30,fr\n" +
		validLine +
		"E3,佐藤,花子,,,hanako@example.com,gold,45382,\n"
	rows, problems := parse(t, in, Options{})
	wantProblems(t, problems,
		where{2, "社員番号", CodeInvalidEmployeeNo}, where{2, "姓", CodeRequired}, where{2, "セイ", CodeInvalidKana},
		where{2, "メールアドレス", CodeInvalidEmail}, where{2, "区分", CodeInvalidTier}, where{2, "退職日", CodeInvalidDate},
		where{2, "言語", CodeInvalidLocale},
		where{4, "退職日", CodeInvalidDate})
	if len(rows) != 1 || rows[0].Line != 3 {
		t.Errorf("rows = %+v, want only line 3", rows)
	}
	if !strings.Contains(problems[7].Message, "Excel date serial number (it would be 2024-03-31)") {
		t.Errorf("serial message = %q", problems[7].Message)
	}
}

package csvimport

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/text/encoding/japanese"
)

// The fixtures under testdata are committed as exact bytes and built by the
// functions below; TestFixturesUpToDate checks that they agree. Run
// UPDATE_FIXTURES=1 go test -run TestFixturesUpToDate to rewrite them.

// raw is a part of a cp932 fixture written as bytes, not encoded.
type raw string

// cp932 builds CP932 bytes: a string is encoded with x/text's Shift_JIS
// encoder, a raw is copied as it is. The raw form is needed for the IBM
// extension codes (0xFA–0xFC) that Excel on Japanese Windows writes for 髙 and
// 﨑: the x/text encoder picks the NEC-selected duplicates (0xEE 0xE0, 0xED 0x95)
// instead.
func cp932(t testing.TB, parts ...any) []byte {
	t.Helper()
	var out []byte
	enc := japanese.ShiftJIS.NewEncoder()
	for _, p := range parts {
		switch p := p.(type) {
		case string:
			b, err := enc.Bytes([]byte(p))
			if err != nil {
				t.Fatalf("encode %q to CP932: %v", p, err)
			}
			out = append(out, b...)
		case raw:
			out = append(out, p...)
		default:
			t.Fatalf("cp932: unexpected part %T", p)
		}
	}
	return out
}

// Bytes of CP932 characters as Excel on Japanese Windows writes them.
const (
	sjisTaka    raw = "\xFB\xFC" // 髙, IBM extension
	sjisTakaNEC raw = "\xEE\xE0" // 髙, NEC-selected IBM extension
	sjisSaki    raw = "\xFA\xB1" // 﨑, IBM extension
	sjisCircle1 raw = "\x87\x40" // ①, NEC special characters
	sjisKabu    raw = "\x87\x8A" // ㈱, NEC special characters
)

func fixtureCP932(t testing.TB) []byte {
	return cp932(t,
		"社員番号,姓,名,セイ,メイ,メールアドレス,区分,退職日,言語\r\n",
		"E0001,", sjisTaka, "橋,一郎,タカハシ,イチロウ,ichiro.takahashi@example.co.jp,gold,2024/3/31,日本語\r\n",
		"E0002,山", sjisSaki, ",花子,ﾔﾏｻﾞｷ,はなこ,hanako.yamasaki@example.com,standard,2023年12月1日,\r\n",
		"E0003,鈴木", sjisCircle1, ",", sjisKabu, "次郎,スズキ,ジロウ,jiro.suzuki@example.com,standard,2022-04-01,en\r\n",
		"E0004,", sjisTakaNEC, "田,表,タカダ,ソウスケ,sosuke.takada@example.com,silver,2021/04/30,ja\r\n",
	)
}

func fixtureCP932Rows() []Row {
	return []Row{
		{Line: 2, EmployeeNo: "E0001", FamilyName: "髙橋", GivenName: "一郎", FamilyNameKana: "タカハシ", GivenNameKana: "イチロウ",
			Email: "ichiro.takahashi@example.co.jp", Tier: "gold", Locale: "ja", DepartedOn: day(2024, 3, 31)},
		{Line: 3, EmployeeNo: "E0002", FamilyName: "山﨑", GivenName: "花子", FamilyNameKana: "ヤマザキ", GivenNameKana: "ハナコ",
			Email: "hanako.yamasaki@example.com", Tier: "standard", Locale: "ja", DepartedOn: day(2023, 12, 1)},
		{Line: 4, EmployeeNo: "E0003", FamilyName: "鈴木①", GivenName: "㈱次郎", FamilyNameKana: "スズキ", GivenNameKana: "ジロウ",
			Email: "jiro.suzuki@example.com", Tier: "standard", Locale: "en", DepartedOn: day(2022, 4, 1)},
		{Line: 5, EmployeeNo: "E0004", FamilyName: "髙田", GivenName: "表", FamilyNameKana: "タカダ", GivenNameKana: "ソウスケ",
			Email: "sosuke.takada@example.com", Tier: "silver", Locale: "ja", DepartedOn: day(2021, 4, 30)},
	}
}

// fixtureUTF8 has Japanese headers in a shuffled order, LF line ends, a
// quoted value with a comma and doubled quotes, and a value spanning lines.
func fixtureUTF8(testing.TB) []byte {
	return []byte("メールアドレス,退職日,姓,社員番号,メイ,名,区分,セイ,言語\n" +
		"Taro.Yamada@Example.COM,2024-03-31,山田,１２３４５,たろう,太郎,Gold,ヤマダ,\n" +
		"\"o'brien@example.ie\",2024/1/9,\"O'Brien, \"\"Pat\"\"\",A-100,,\"Patrick\nJohn\",standard,,en\n" +
		"hanako@example.jp,2024年2月29日,　佐藤　,B_200,ハナコ,花子,standard,サトウ,ja-JP\n")
}

func fixtureUTF8Rows() []Row {
	return []Row{
		{Line: 2, EmployeeNo: "12345", FamilyName: "山田", GivenName: "太郎", FamilyNameKana: "ヤマダ", GivenNameKana: "タロウ",
			Email: "Taro.Yamada@example.com", Tier: "gold", Locale: "ja", DepartedOn: day(2024, 3, 31)},
		{Line: 3, EmployeeNo: "A-100", FamilyName: `O'Brien, "Pat"`, GivenName: "Patrick John",
			Email: "o'brien@example.ie", Tier: "standard", Locale: "en", DepartedOn: day(2024, 1, 9)},
		{Line: 5, EmployeeNo: "B_200", FamilyName: "佐藤", GivenName: "花子", FamilyNameKana: "サトウ", GivenNameKana: "ハナコ",
			Email: "hanako@example.jp", Tier: "standard", Locale: "ja", DepartedOn: day(2024, 2, 29)},
	}
}

// fixtureUTF8BOM is what Excel's 「CSV UTF-8（コンマ区切り）」 writes: a BOM and
// CRLF line ends; here with the API column names and trailing empty rows.
func fixtureUTF8BOM(testing.TB) []byte {
	return []byte("\uFEFFemployee_no,family_name,given_name,family_name_kana,given_name_kana,email,tier,departed_on,locale\r\n" +
		"E0001,髙橋,一郎,タカハシ,イチロウ,ichiro.takahashi@example.co.jp,gold,2024/03/31,ja\r\n" +
		"E0002,山﨑,花子,,,hanako.yamasaki@example.com,standard,2023/12/01 0:00,英語\r\n" +
		",,,,,,,,\r\n" +
		"\r\n")
}

func fixtureUTF8BOMRows() []Row {
	return []Row{
		{Line: 2, EmployeeNo: "E0001", FamilyName: "髙橋", GivenName: "一郎", FamilyNameKana: "タカハシ", GivenNameKana: "イチロウ",
			Email: "ichiro.takahashi@example.co.jp", Tier: "gold", Locale: "ja", DepartedOn: day(2024, 3, 31)},
		{Line: 3, EmployeeNo: "E0002", FamilyName: "山﨑", GivenName: "花子",
			Email: "hanako.yamasaki@example.com", Tier: "standard", Locale: "en", DepartedOn: day(2023, 12, 1)},
	}
}

// fixtures lists every committed fixture with the function that builds it.
func fixtures() map[string]func(testing.TB) []byte {
	return map[string]func(testing.TB) []byte{
		"members_cp932.csv":    fixtureCP932,
		"members_utf8.csv":     fixtureUTF8,
		"members_utf8_bom.csv": fixtureUTF8BOM,
	}
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// readFixture returns the committed bytes of testdata/name.
func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

func TestFixturesUpToDate(t *testing.T) {
	for name, build := range fixtures() {
		t.Run(name, func(t *testing.T) {
			want := build(t)
			path := filepath.Join("testdata", name)
			if os.Getenv("UPDATE_FIXTURES") != "" {
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got := readFixture(t, name)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s differs from its builder; run UPDATE_FIXTURES=1 go test -run TestFixturesUpToDate", path)
			}
		})
	}
	t.Run("cp932 holds the Excel bytes", func(t *testing.T) {
		got := readFixture(t, "members_cp932.csv")
		for _, b := range []raw{sjisTaka, sjisTakaNEC, sjisSaki, sjisCircle1, sjisKabu, "\x95\x5C" /* 表 */} {
			if !bytes.Contains(got, []byte(b)) {
				t.Errorf("fixture lacks bytes % X", string(b))
			}
		}
	})
}

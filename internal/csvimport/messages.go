package csvimport

import (
	"encoding/csv"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Problem codes. They are part of the import API: clients may branch on them.
const (
	CodeEmptyFile           = "empty_file"            // no header row
	CodeMissingColumn       = "missing_column"        // a required column is absent
	CodeDuplicateColumn     = "duplicate_column"      // two columns hold the same field
	CodeUnknownColumn       = "unknown_column"        // a header we do not know, or values under no header
	CodeRequired            = "required"              // a required value is empty
	CodeTooLong             = "too_long"              // a value exceeds its length limit
	CodeInvalidEmployeeNo   = "invalid_employee_no"   // characters other than A–Z, 0–9, - and _
	CodeInvalidKana         = "invalid_kana"          // a reading not in katakana or hiragana
	CodeInvalidEmail        = "invalid_email"         // not one plausible bare address
	CodeInvalidDate         = "invalid_date"          // not a date in an accepted format
	CodeInvalidTier         = "invalid_tier"          // not a lower-case slug
	CodeInvalidLocale       = "invalid_locale"        // not ja or en
	CodeInvalidCharacter    = "invalid_character"     // an invisible control, bidi or format character
	CodeInvisibleName       = "invisible_name"        // a name with no visible character
	CodeDuplicateEmployeeNo = "duplicate_employee_no" // the same employee twice in the file
	CodeBadEncoding         = "bad_encoding"          // bytes invalid in the file's character encoding
	CodeBadQuoting          = "bad_quoting"           // double quotes that break the CSV structure
	CodeWrongFieldCount     = "wrong_field_count"     // a record with more or fewer values than the header
	CodeTooManyRows         = "too_many_rows"         // more members than one import takes
)

// fault is a Problem before it is located.
type fault struct {
	code, en, ja string
}

// shown prepares a value for a message: at most 40 characters, with line
// breaks and other invisible characters written as escapes.
func shown(v string) string {
	r := []rune(v)
	cut := len(r) > 40
	if cut {
		r = r[:40]
	}
	var b strings.Builder
	for _, c := range r {
		if unicode.IsPrint(c) || c == ' ' || c == '\u3000' {
			b.WriteRune(c)
		} else {
			q := strconv.QuoteRune(c)
			b.WriteString(q[1 : len(q)-1])
		}
	}
	if cut {
		b.WriteString("…")
	}
	return b.String()
}

// qEN quotes a value for an English message, qJA for a Japanese one.
func qEN(v string) string { return `"` + shown(v) + `"` }
func qJA(v string) string { return "「" + shown(v) + "」" }

// runeEN and runeJA name one offending character.
func runeEN(r rune) string {
	if r == ' ' {
		return "a space"
	}
	return fmt.Sprintf("%s (U+%04X)", qEN(string(r)), r)
}

func runeJA(r rune) string {
	if r == ' ' {
		return "空白"
	}
	return fmt.Sprintf("%s（U+%04X）", qJA(string(r)), r)
}

// knownColumns lists the accepted headers for the unknown-column messages.
func knownColumns(ja bool) string {
	var parts []string
	for f := fieldNone + 1; f < fieldCount; f++ {
		in := f.info()
		if ja {
			parts = append(parts, in.ja)
		} else {
			parts = append(parts, in.api+" ("+in.ja+")")
		}
	}
	if ja {
		return strings.Join(parts, "・")
	}
	return strings.Join(parts, ", ")
}

func faultEmptyFile() fault {
	return fault{CodeEmptyFile,
		"The file is empty. Its first line must be the header row naming the columns, for example: " +
			"社員番号,姓,名,メールアドレス,区分,退職日 (or employee_no,family_name,given_name,email,tier,departed_on).",
		"ファイルが空です。1行目に列名を並べた見出し行（例: 社員番号,姓,名,メールアドレス,区分,退職日）を入れてください。"}
}

func faultTooManyRows(limit int) fault {
	return fault{CodeTooManyRows,
		fmt.Sprintf("The file has more than %d members, and one import takes at most %d. "+
			"Split it into files of at most %d rows and import each.", limit, limit, limit),
		fmt.Sprintf("1回に取り込めるのは%d件までですが、このファイルはそれを超えています。"+
			"%d行以下のファイルに分けて、1つずつ取り込んでください。", limit, limit)}
}

func faultFieldCount(got, want int) fault {
	return fault{CodeWrongFieldCount,
		fmt.Sprintf("This line has %d values but the header row has %d columns. A value that contains a comma "+
			`must be enclosed in double quotes ("Minato-ku, Tokyo"); otherwise a value or a comma is missing or extra.`,
			got, want),
		fmt.Sprintf("この行の値は%d個ですが、見出し行は%d列です。カンマを含む値はダブルクォートで囲む必要があります"+
			"（例: \"東京都港区1-2-3, 4F\"）。そうでなければ、値かカンマが多すぎるか足りません。", got, want)}
}

func faultQuoting(startLine, line int, err error) fault {
	where := ""
	whereJA := ""
	if line > startLine {
		where = fmt.Sprintf(" This record starts on line %d; the problem was found on line %d.", startLine, line)
		whereJA = fmt.Sprintf("このレコードは%d行目から始まり、%d行目で問題が見つかりました。", startLine, line)
	}
	if errors.Is(err, csv.ErrBareQuote) {
		return fault{CodeBadQuoting,
			`A double quote (") appears inside a value that does not start with one. Enclose the whole value ` +
				`in double quotes and double the quote inside it, as in "5"" screen"; saving from Excel does this for you.` + where,
			"ダブルクォート（\"）で始まっていない値の途中に「\"」があります。値全体をダブルクォートで囲み、" +
				"中の「\"」は「\"\"」と2つ重ねてください（Excelで保存すれば自動でそうなります）。" + whereJA}
	}
	return fault{CodeBadQuoting,
		"A value in double quotes is not closed properly: either its closing quote is missing, so the lines " +
			"after it were read as part of the value, or text follows the closing quote. Check the double quotes " +
			`in this record; a quote inside a value must be doubled ("").` + where,
		"ダブルクォートで囲んだ値が正しく閉じられていません。閉じる「\"」が抜けて後ろの行まで1つの値として読まれたか、" +
			"閉じる「\"」の後ろに文字があります。このレコードのダブルクォートを確認してください" +
			"（値の中の「\"」は「\"\"」と2つ重ねます）。" + whereJA}
}

func faultUnnamedColumn(pos int, value string) fault {
	return fault{CodeUnknownColumn,
		fmt.Sprintf("Column %d has no header but has a value (%s on this line). Give the column a header or delete it.",
			pos, qEN(value)),
		fmt.Sprintf("%d列目には見出しがありませんが、値（%s）が入っています。列に見出しを付けるか、列を削除してください。",
			pos, qJA(value))}
}

func faultDuplicateEmployeeNo(no string, first int) fault {
	return fault{CodeDuplicateEmployeeNo,
		fmt.Sprintf("The employee number %s already appears on line %d. Each member may appear only once in a file; "+
			"delete or correct one of the two lines.", qEN(no), first),
		fmt.Sprintf("社員番号%sは%d行目にもあります。1つのファイルに同じ社員は1回しか書けません。"+
			"どちらかの行を削除または修正してください。", qJA(no), first)}
}

// afterEN and afterJA say where in a value the bad bytes are.
func afterEN(before string) string {
	if before == "" {
		return "at the start of the value"
	}
	return "after " + qEN(before)
}

func afterJA(before string) string {
	if before == "" {
		return "値の先頭"
	}
	return qJA(before) + "の後ろ"
}

func faultBadEncoding(col string, b badBytes, d *fieldDecoder) *fault {
	hex := hexBytes(b.bytes)
	f := &fault{code: CodeBadEncoding}
	switch {
	case d.kind == encUTF8 && d.detected:
		f.en = fmt.Sprintf("The value in column %s has bytes that are not valid UTF-8 (%s, %s), although the rest "+
			"of the file is UTF-8. It was probably pasted from a file in another encoding; retype the value and save again.",
			qEN(col), hex, afterEN(b.before))
		f.ja = fmt.Sprintf("%s列の値に、UTF-8として読めないバイト（%s、%s）があります（ファイルの他の部分はUTF-8です）。"+
			"別の文字コードのファイルから貼り付けた可能性があります。値を入力し直して保存してください。",
			qJA(col), hex, afterJA(b.before))
	case d.kind == encUTF8:
		f.en = fmt.Sprintf("The value in column %s cannot be read as UTF-8 (bytes %s, %s). The file is probably "+
			"Shift_JIS, as Excel's 「CSV（コンマ区切り）」 saves it: import it with encoding auto or shift_jis, "+
			"or save it again as 「CSV UTF-8（コンマ区切り）」.", qEN(col), hex, afterEN(b.before))
		f.ja = fmt.Sprintf("%s列の値をUTF-8として読めません（%s、%s）。ファイルはExcelの「CSV（コンマ区切り）」で"+
			"保存したShift_JISと思われます。文字コードを auto か shift_jis にして取り込むか、"+
			"「CSV UTF-8（コンマ区切り）」で保存し直してください。", qJA(col), hex, afterJA(b.before))
	case b.userDefined:
		f.en = fmt.Sprintf("The value in column %s contains a user-defined character (外字, bytes %s, %s), which has "+
			"no standard equivalent. Replace it with a standard character and save again.", qEN(col), hex, afterEN(b.before))
		f.ja = fmt.Sprintf("%s列の値に外字（ユーザー定義文字、%s、%s）があり、変換できません。"+
			"標準の文字に置き換えて保存し直してください。", qJA(col), hex, afterJA(b.before))
	default:
		f.en = fmt.Sprintf("The value in column %s cannot be read as Shift_JIS (CP932) (bytes %s, %s). If the file "+
			"was saved as UTF-8, import it with encoding utf-8; otherwise save it again from Excel as "+
			"「CSV UTF-8（コンマ区切り）」.", qEN(col), hex, afterEN(b.before))
		f.ja = fmt.Sprintf("%s列の値をShift_JIS（CP932）として読めません（%s、%s）。UTF-8で保存したファイルなら"+
			"文字コードを utf-8 にして取り込み、そうでなければExcelで「CSV UTF-8（コンマ区切り）」として保存し直してください。",
			qJA(col), hex, afterJA(b.before))
	}
	return f
}

func faultBadHeaderEncoding(pos int, b badBytes, d *fieldDecoder) fault {
	hex := hexBytes(b.bytes)
	if d.kind == encUTF8 && !d.detected {
		return fault{CodeBadEncoding,
			fmt.Sprintf("The header row cannot be read as UTF-8 (column %d, bytes %s). The file is probably Shift_JIS, "+
				"as Excel's 「CSV（コンマ区切り）」 saves it: import it with encoding auto or shift_jis, or save it "+
				"again as 「CSV UTF-8（コンマ区切り）」.", pos, hex),
			fmt.Sprintf("見出し行をUTF-8として読めません（%d列目、%s）。ファイルはExcelの「CSV（コンマ区切り）」で保存した"+
				"Shift_JISと思われます。文字コードを auto か shift_jis にして取り込むか、"+
				"「CSV UTF-8（コンマ区切り）」で保存し直してください。", pos, hex)}
	}
	return fault{CodeBadEncoding,
		fmt.Sprintf("The header row cannot be read as %s (column %d, bytes %s). Retype the header, or save the file "+
			"again from Excel as 「CSV UTF-8（コンマ区切り）」.", d.kind, pos, hex),
		fmt.Sprintf("見出し行を%sとして読めません（%d列目、%s）。見出しを入力し直すか、Excelで"+
			"「CSV UTF-8（コンマ区切り）」として保存し直してください。", d.kind, pos, hex)}
}

func faultFileIsUTF8() fault {
	return fault{CodeBadEncoding,
		"The file is UTF-8 (as Excel's 「CSV UTF-8（コンマ区切り）」 saves it), but the encoding shift_jis was chosen, " +
			"which would garble every Japanese character. Import it with encoding auto or utf-8.",
		"このファイルはUTF-8（Excelの「CSV UTF-8（コンマ区切り）」形式）ですが、文字コードに shift_jis が指定されています。" +
			"このままでは日本語がすべて文字化けします。文字コードを auto か utf-8 にして取り込んでください。"}
}

func faultUTF16() fault {
	return fault{CodeBadEncoding,
		"The file is UTF-16, as Excel's 「Unicode テキスト」 saves it. Save it again as 「CSV UTF-8（コンマ区切り）」 " +
			"or 「CSV（コンマ区切り）」.",
		"このファイルはUTF-16（Excelの「Unicode テキスト」形式）です。「CSV UTF-8（コンマ区切り）」または" +
			"「CSV（コンマ区切り）」で保存し直してください。"}
}

func faultUnknownColumn(name string) fault {
	key := headerKey(name)
	hintEN := "Rename it to one of " + knownColumns(false) + ", or delete the column."
	hintJA := knownColumns(true) + " のいずれかに列名を変えるか、列を削除してください。"
	switch {
	case strings.ContainsAny(name, "\t;"):
		hintEN = "The file seems to be separated by tabs or semicolons; save it from Excel as CSV (comma-separated)."
		hintJA = "ファイルがタブやセミコロンで区切られているようです。Excelで「CSV（コンマ区切り）」として保存し直してください。"
	case key == "氏名" || key == "名前" || key == "name" || key == "fullname" || key == "氏名(漢字)":
		hintEN = "Put the family name and the given name in two columns, 姓 and 名 (family_name, given_name)."
		hintJA = "姓と名を「姓」「名」の2列に分けてください。"
	case key == "フリガナ" || key == "ふりがな" || key == "カナ" || key == "氏名(カナ)" || key == "カナ氏名" ||
		key == "氏名カナ" || key == "氏名(フリガナ)" || key == "よみ" || key == "読み":
		hintEN = "Put the reading in two columns, セイ and メイ (family_name_kana, given_name_kana)."
		hintJA = "読みを「セイ」「メイ」の2列に分けてください。"
	}
	return fault{CodeUnknownColumn,
		fmt.Sprintf("The column %s is not one we know, so its values would be lost. %s", qEN(name), hintEN),
		fmt.Sprintf("列%sは認識できない列名です（このままでは値が取り込まれません）。%s", qJA(name), hintJA)}
}

func faultDuplicateColumn(name, first string, f field) fault {
	in := f.info()
	if name == first {
		return fault{CodeDuplicateColumn,
			fmt.Sprintf("The column %s appears twice in the header row. Delete one of them.", qEN(name)),
			fmt.Sprintf("列%sが見出し行に2回あります。どちらかを削除してください。", qJA(name))}
	}
	return fault{CodeDuplicateColumn,
		fmt.Sprintf("The columns %s and %s both hold the %s (%s). Delete one of them.", qEN(first), qEN(name), in.nounEN, in.api),
		fmt.Sprintf("列%sと列%sはどちらも%s（%s）の列です。どちらかを削除してください。", qJA(first), qJA(name), in.ja, in.api)}
}

func faultMissingColumn(f field) fault {
	in := f.info()
	return fault{CodeMissingColumn,
		fmt.Sprintf("The required column %s (%s) is missing from the header row. Add a column with that header "+
			"and fill it in for every member.", in.api, in.ja),
		fmt.Sprintf("必須の列「%s」（%s）が見出し行にありません。この見出しの列を追加し、全員分の値を入れてください。",
			in.ja, in.api)}
}

func faultReplacementChar(col, value string) *fault {
	return &fault{CodeBadEncoding,
		fmt.Sprintf("The value %s in column %s contains \"\uFFFD\", the mark left where a character was lost in an "+
			"earlier conversion between character sets. Correct the value in the source data and save again.",
			qEN(value), qEN(col)),
		fmt.Sprintf("%s列の値%sに「\uFFFD」があります。以前の文字コード変換で文字が失われた跡です。"+
			"元のデータで正しい文字に直して保存し直してください。", qJA(col), qJA(value))}
}

func faultControlChar(col, value string, r rune) *fault {
	return &fault{CodeInvalidCharacter,
		fmt.Sprintf("The value %s in column %s contains an invisible control or formatting character (U+%04X). Retype the value.",
			qEN(value), qEN(col), r),
		fmt.Sprintf("%s列の値%sに目に見えない制御文字または書式文字（U+%04X）が含まれています。値を入力し直してください。",
			qJA(col), qJA(value), r)}
}

func faultInvisibleName(col, value string) *fault {
	return &fault{CodeInvisibleName,
		fmt.Sprintf("The value %s in column %s has no visible character, only zero-width or blank ones. Retype the name.",
			qEN(value), qEN(col)),
		fmt.Sprintf("%s列の値%sには目に見える文字がなく、幅のない文字や空白に見える文字だけです。名前を入力し直してください。",
			qJA(col), qJA(value))}
}

func faultRequired(col string, f field) *fault {
	in := f.info()
	return &fault{CodeRequired,
		fmt.Sprintf("The %s is empty (column %s). It is required; fill it in.", in.nounEN, qEN(col)),
		fmt.Sprintf("%s（%s列）が空です。必須項目なので入力してください。", in.ja, qJA(col))}
}

func faultScientificEmployeeNo(v string) *fault {
	return &fault{CodeInvalidEmployeeNo,
		fmt.Sprintf("The employee number %s looks like Excel turned it into a number in scientific notation, losing "+
			"digits. In Excel, format the column as Text, enter the numbers again and save.", qEN(v)),
		fmt.Sprintf("社員番号%sは、Excelが数値（指数表示）に変換したため桁が失われています。Excelでこの列の表示形式を"+
			"「文字列」にして社員番号を入力し直し、保存してください。", qJA(v))}
}

func faultTooLong(f field, v string, n, limit int) *fault {
	in := f.info()
	return &fault{CodeTooLong,
		fmt.Sprintf("The %s %s is %d characters long; at most %d are allowed. Shorten it.", in.nounEN, qEN(v), n, limit),
		fmt.Sprintf("%s%sは%d文字あります。%d文字以内にしてください。", in.ja, qJA(v), n, limit)}
}

func faultEmployeeNoChar(v string, r rune) *fault {
	return &fault{CodeInvalidEmployeeNo,
		fmt.Sprintf(`The employee number %s contains %s, which is not allowed. Use only letters A–Z, digits 0–9, "-" and "_".`,
			qEN(v), runeEN(r)),
		fmt.Sprintf("社員番号%sに使えない文字%sがあります。半角英数字と「-」「_」だけが使えます。", qJA(v), runeJA(r))}
}

func faultKanaChar(col, v string, r rune) *fault {
	return &fault{CodeInvalidKana,
		fmt.Sprintf("The reading %s in column %s contains %s, which is not katakana or hiragana. Write the reading "+
			"in katakana (for example ヤマダ) or leave it empty.", qEN(v), qEN(col), runeEN(r)),
		fmt.Sprintf("%s列の読み%sに、カタカナ・ひらがな以外の文字%sがあります。読みはカタカナ（例: ヤマダ）で"+
			"入力するか、空欄にしてください。", qJA(col), qJA(v), runeJA(r))}
}

func faultEmail(col, v string, reason emailReason) *fault {
	var en, ja string
	switch reason {
	case emailNoAt:
		en, ja = `it has no "@"`, "「@」がありません。"
	case emailManyAt:
		en, ja = `it has more than one "@"`, "「@」が2つ以上あります。"
	case emailSpace:
		en, ja = "it contains a space (if there are two addresses, keep one)", "空白が含まれています（アドレスが2つある場合は1つにしてください）。"
	case emailAngle:
		en, ja = `it contains a name or "<>" (give only the address)`, "名前や「<>」が含まれています（アドレスだけにしてください）。"
	case emailNoLocal:
		en, ja = `nothing comes before "@"`, "「@」の前が空です。"
	case emailNonASCIILocal:
		en, ja = `the part before "@" has characters other than half-width letters, digits and symbols`,
			"「@」の前に半角英数字・記号以外の文字があります。"
	case emailNoDomain:
		en, ja = `nothing comes after "@"`, "「@」の後ろが空です。"
	case emailNoDot:
		en, ja = `the domain after "@" has no dot (as in example.com)`, "「@」の後ろのドメインに「.」がありません（例: example.com）。"
	case emailBadDomain:
		en, ja = `the domain after "@" is not valid`, "「@」の後ろのドメインが正しくありません。"
	default:
		en, ja = "it is not in the form name@example.com", "「名前@example.com」の形になっていません。"
	}
	return &fault{CodeInvalidEmail,
		fmt.Sprintf("%s in column %s is not a valid e-mail address: %s. Write one address such as taro.yamada@example.com.",
			qEN(v), qEN(col), en),
		fmt.Sprintf("%s列の%sはメールアドレスとして正しくありません。%s"+
			"taro.yamada@example.com のようにアドレスを1つだけ入力してください。", qJA(col), qJA(v), ja)}
}

func faultTierChar(v string, r rune) *fault {
	return &fault{CodeInvalidTier,
		fmt.Sprintf(`The tier %s contains %s. A tier is a short code of lower-case letters a–z, digits, "-" or "_", such as gold.`,
			qEN(v), runeEN(r)),
		fmt.Sprintf("区分%sに使えない文字%sがあります。区分は半角英小文字・数字・「-」「_」の短いコード（例: gold）で入力してください。",
			qJA(v), runeJA(r))}
}

func faultLocale(v string) *fault {
	return &fault{CodeInvalidLocale,
		fmt.Sprintf("The language %s is not supported. Use ja (日本語) or en (English), or leave it empty for Japanese.", qEN(v)),
		fmt.Sprintf("言語%sには対応していません。ja（日本語）か en（英語）を入力するか、空欄（日本語）にしてください。", qJA(v))}
}

func faultDate(v string, reason dateReason, serial time.Time) *fault {
	const formatsEN = "Write it as 2024-03-31, 2024/3/31 or 2024年3月31日."
	const formatsJA = "2024-03-31、2024/3/31、2024年3月31日 のいずれかの形式で入力してください。"
	if reason == dateSerial {
		meansEN, meansJA := "", ""
		if !serial.IsZero() {
			day := serial.Format("2006-01-02")
			meansEN = " (it would be " + day + ")"
			meansJA = "（" + day + "に当たります）"
		}
		return &fault{CodeInvalidDate,
			fmt.Sprintf("The departure date %s looks like an Excel date serial number%s. Serial numbers are not accepted, "+
				"because their meaning depends on the workbook's date system. In Excel, format the column as a date "+
				"such as yyyy/mm/dd and save again. %s", qEN(v), meansEN, formatsEN),
			fmt.Sprintf("退職日%sはExcelの日付シリアル値のようです%s。シリアル値はブックの日付システムによって意味が"+
				"変わるため受け付けません。Excelで列の表示形式を yyyy/mm/dd などの日付にして保存し直してください。%s",
				qJA(v), meansJA, formatsJA)}
	}
	var en, ja string
	switch reason {
	case dateEra:
		en, ja = "Japanese era years (令和, 平成, R6 …) are not accepted; use the Western year",
			"和暦（令和・平成・R6 など）は使えません。西暦で入力してください。"
	case dateTwoDigitYear:
		en, ja = "the year must have four digits", "年は4桁で入力してください。"
	case dateYearLast:
		en, ja = "the year must come first (year, month, day)", "年・月・日の順に入力してください。"
	case dateNotExist:
		en, ja = "no such day exists in the calendar", "存在しない日付です。"
	case dateRange:
		en = fmt.Sprintf("the year must be between %d and %d", minYear, maxYear)
		ja = fmt.Sprintf("年は%d～%dの範囲にしてください。", minYear, maxYear)
	case dateTime:
		en, ja = "it has a time of day; give the date only", "時刻が含まれています。日付だけを入力してください。"
	default:
		en, ja = "it is not a date in a format we accept", "受け付けられる形式の日付ではありません。"
	}
	return &fault{CodeInvalidDate,
		fmt.Sprintf("The departure date %s is not valid: %s. %s", qEN(v), en, formatsEN),
		fmt.Sprintf("退職日%sが正しくありません。%s%s", qJA(v), ja, formatsJA)}
}

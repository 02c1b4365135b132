package csvimport

import (
	"bytes"
	"fmt"
	"testing"
)

// benchmarkFile returns n valid member records in the Japanese layout, with
// the mix of values a real export has: kanji names (some with 髙 and 﨑),
// kana in both scripts, full-width digits and several date formats.
func benchmarkFile(n int) []byte {
	families := []string{"髙橋", "山﨑", "佐藤", "鈴木", "田中", "渡邊"}
	kanas := []string{"タカハシ", "やまさき", "サトウ", "ｽｽﾞｷ", "タナカ", "ワタナベ"}
	dates := []string{"2024-03-31", "2024/3/31", "2023年12月1日", "2022/04/01"}
	var b bytes.Buffer
	b.WriteString("\uFEFF社員番号,姓,名,セイ,メイ,メールアドレス,区分,退職日,言語\r\n")
	for i := range n {
		k := i % len(families)
		fmt.Fprintf(&b, "E%06d,%s,太郎,%s,タロウ,taro.%d@Example.co.jp,gold,%s,%s\r\n",
			i, families[k], kanas[k], i, dates[i%len(dates)], []string{"", "ja", "en"}[i%3])
	}
	return b.Bytes()
}

func BenchmarkParse100k(b *testing.B) {
	const n = 100000
	utf8File := benchmarkFile(n)
	cp932File := cp932(b, string(utf8File[3:])) // the same text, as Excel's 「CSV（コンマ区切り）」
	for _, bm := range []struct {
		name string
		data []byte
	}{{"utf8", utf8File}, {"cp932", cp932File}} {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(bm.data)))
			b.ReportAllocs()
			for b.Loop() {
				rows, problems, err := Parse(bytes.NewReader(bm.data), Options{})
				if err != nil || len(problems) != 0 || len(rows) != n {
					b.Fatalf("rows %d, problems %v, err %v", len(rows), problems[:min(3, len(problems))], err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

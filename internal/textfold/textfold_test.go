package textfold

import (
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

func TestKeyFoldsWhatHRTypes(t *testing.T) {
	same := []struct{ query, stored string }{
		{"高橋", "髙橋"},
		{"山崎", "山﨑"},
		{"徳永", "德永"},
		{"渡辺", "渡邉"},
		{"渡辺", "渡邊"},
		{"斎藤", "齋藤"},
		{"斉藤", "齊藤"},
		{"浜田", "濵田"},
		{"沢田", "澤田"},
		{"桜井", "櫻井"},
		{"吉田", "𠮷田"},
		{"たかはし", "タカハシ"},
		{"ﾀｶﾊｼ", "タカハシ"},
		{"ﾔﾏｻﾞｷ", "ヤマザキ"},
		{"やまざき", "ヤマザキ"},
		{"ＡＢＣ１２３", "abc123"},
		{"Taro.Yamada@Example.COM", "taro.yamada@example.com"},
		{"山田　太郎", "山田太郎"},
		{"葛\U000E0100城", "葛城"}, // an ideographic variation sequence
	}
	for _, c := range same {
		if q, s := Key(c.query), Key(c.stored); q != s {
			t.Errorf("Key(%q) = %q, Key(%q) = %q; want equal", c.query, q, c.stored, s)
		}
	}
	different := [][2]string{{"高橋", "高槻"}, {"タカハシ", "タカハシイ"}, {"斎藤", "佐藤"}}
	for _, c := range different {
		if Key(c[0]) == Key(c[1]) {
			t.Errorf("Key(%q) == Key(%q); want different", c[0], c[1])
		}
	}
}

// The ASCII fast path folds as the general path does.
func TestKeyASCIIFastPath(t *testing.T) {
	for _, s := range []string{"Taro.Yamada@Example.COM", "E-0001_x", " a\tB\nc\x7f ", "~!%_\\"} {
		if fast, slow := Key(s), Key(s+"\u3000"); fast != slow {
			t.Errorf("Key(%q) = %q on the ASCII path, %q on the general path", s, fast, slow)
		}
	}
}

func TestMemberKeyDoesNotMatchAcrossFields(t *testing.T) {
	k := MemberKey("山田", "太郎", "ヤマダ", "タロウ", "E1001", "taro@example.com")
	for _, q := range []string{"山田太郎", "太郎山田", "やまだたろう", "e1001", "TARO@EXAMPLE"} {
		if !strings.Contains(k, Key(q)) {
			t.Errorf("key %q does not contain Key(%q)", k, Key(q))
		}
	}
	// The employee number followed by the e-mail is not one field.
	if strings.Contains(k, Key("e1001taro")) {
		t.Errorf("key %q matches across fields", k)
	}
}

func TestItaijiTable(t *testing.T) {
	for from, to := range itaiji {
		if norm.NFKC.String(string(from)) != string(from) {
			t.Errorf("%q is changed by NFKC, so the table never sees it", from)
		}
		if _, ok := itaiji[to]; ok {
			t.Errorf("%q → %q, but %q is itself a variant (chains are not followed)", from, to, to)
		}
		if from == to {
			t.Errorf("%q maps to itself", from)
		}
	}
}

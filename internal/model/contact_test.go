package model

import "testing"

func TestNormalizeEmail(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"taro@example.com", "taro@example.com"},
		{"  Taro.Yamada@Example.CO.JP ", "Taro.Yamada@example.co.jp"},
		{"ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ", "taro@example.com"},
		{"Taro <taro@example.com>", ""},
		{"<taro@example.com>", ""},
		{"taro@", ""},
		{"@example.com", ""},
		{"taro", ""},
		{"ta ro@example.com", ""},
		{"", ""},
		{string(make([]byte, 300)) + "@example.com", ""},
	} {
		got, ok := NormalizeEmail(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}

func TestParseLocale(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "ja"}, {"ja", "ja"}, {"JA", "ja"}, {"jp", "ja"}, {"日本語", "ja"}, {"ja-JP", "ja"}, {"ｊａ", "ja"},
		{"en", "en"}, {"English", "en"}, {"英語", "en"}, {"en_GB", "en"}, {"en-US", "en"},
		{"fr", ""}, {"jap", ""}, {"e", ""}, {"ja-", ""},
	} {
		got, ok := ParseLocale(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("ParseLocale(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}

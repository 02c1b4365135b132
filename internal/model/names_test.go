package model

import "testing"

// TestNormalizeName is the table of the one name rule every path applies
// (API, HR console, CSV import).
func TestNormalizeName(t *testing.T) {
	long := ""
	for range MaxNameLen + 1 {
		long += "あ"
	}
	cases := []struct {
		name, in, want string
		fault          NameFault
		r              rune
	}{
		{"plain", "山田", "山田", FaultNone, 0},
		{"compatibility ideograph kept", "髙﨑", "髙﨑", FaultNone, 0},
		{"spaces collapsed", "\u3000Van  der\tBerg\r\n", "Van der Berg", FaultNone, 0},
		{"zero-width joiner inside a name", "Mehr\u200Cdad", "Mehr\u200Cdad", FaultNone, 0},
		{"private use (gaiji)", "\uE000田", "\uE000田", FaultNone, 0},
		{"64 characters", long[:len(long)-len("あ")], long[:len(long)-len("あ")], FaultNone, 0},
		{"empty", "", "", FaultRequired, 0},
		{"only spaces", " \u3000\t", "", FaultRequired, 0},
		{"65 characters", long, "", FaultTooLong, 0},
		{"NUL", "山\x00田", "", FaultInvalidCharacter, 0},
		{"escape", "\x1b[31m田", "", FaultInvalidCharacter, 0x1b},
		{"C1 control", "田\u0085", "", FaultInvalidCharacter, 0x85},
		{"right-to-left override", "\u202Egnp.exe", "", FaultInvalidCharacter, 0x202E},
		{"left-to-right isolate", "田\u2066中", "", FaultInvalidCharacter, 0x2066},
		{"right-to-left mark", "\u200F田", "", FaultInvalidCharacter, 0x200F},
		{"zero-width space inside", "山\u200B田", "", FaultInvalidCharacter, 0x200B},
		{"byte order mark", "\uFEFF山田", "", FaultInvalidCharacter, 0xFEFF},
		{"replacement character", "山\uFFFD", "", FaultInvalidCharacter, 0xFFFD},
		{"invalid UTF-8", "山\xff", "", FaultInvalidCharacter, 0xFFFD},
		{"noncharacter", "山\uFDD0", "", FaultInvalidCharacter, 0xFDD0},
		{"only zero-width joiners", "\u200D\u200C\u200D", "", FaultInvisibleName, 0},
		{"only Hangul fillers", "\u3164\u3164", "", FaultInvisibleName, 0},
		{"only a combining mark", "\u0301", "", FaultInvisibleName, 0},
		{"braille blank and joiner", "\u2800\u200D", "", FaultInvisibleName, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, fault, r := NormalizeName(c.in)
			if got != c.want || fault != c.fault {
				t.Fatalf("NormalizeName(%+q) = %+q, %q; want %+q, %q", c.in, got, fault, c.want, c.fault)
			}
			if c.r != 0 && r != c.r {
				t.Fatalf("NormalizeName(%+q) blames U+%04X, want U+%04X", c.in, r, c.r)
			}
		})
	}
}

func TestNormalizeKana(t *testing.T) {
	cases := []struct {
		name, in, want string
		fault          NameFault
	}{
		{"empty is allowed", "", "", FaultNone},
		{"katakana", "ヤマダ", "ヤマダ", FaultNone},
		{"half-width", "ﾀｶﾊｼ", "タカハシ", FaultNone},
		{"hiragana", "やまだ たろう", "ヤマダ タロウ", FaultNone},
		{"latin", "Yamada", "", FaultInvalidKana},
		{"NUL", "ヤ\x00マ", "", FaultInvalidCharacter},
		{"bidi override", "\u202Eヤマダ", "", FaultInvalidCharacter},
		{"zero-width space", "ヤ\u200Bマ", "", FaultInvalidCharacter},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, fault, _ := NormalizeKana(c.in)
			if got != c.want || fault != c.fault {
				t.Fatalf("NormalizeKana(%+q) = %+q, %q; want %+q, %q", c.in, got, fault, c.want, c.fault)
			}
		})
	}
}

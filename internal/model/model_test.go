package model

import (
	"testing"
	"time"
)

func TestPerkOpen(t *testing.T) {
	jst := time.FixedZone("JST", 9*3600)
	at := func(s string) time.Time { // 2026-11-23 is a Monday
		tt, err := time.ParseInLocation("2006-01-02 15:04", s, jst)
		if err != nil {
			t.Fatal(err)
		}
		return tt
	}
	for _, tc := range []struct {
		days, hours, at string
		want            bool
	}{
		{"", "", "2026-11-23 03:00", true},
		{"mon,tue", "", "2026-11-23 12:00", true},
		{"sat,sun", "", "2026-11-23 12:00", false},
		{"", "11:00-14:00", "2026-11-23 11:00", true},
		{"", "11:00-14:00", "2026-11-23 14:00", false},
		{"", "11:00-14:00", "2026-11-23 10:59", false},
		{"fri,sat", "22:00-02:00", "2026-11-28 01:30", true}, // Friday night's window, after midnight
		{"fri", "22:00-02:00", "2026-11-29 01:30", false},    // Sunday 01:30 belongs to Saturday's window
		{"sun", "22:00-02:00", "2026-11-23 01:30", true},     // Monday 01:30 belongs to Sunday's window
		{"", "nonsense", "2026-11-23 12:00", false},          // unreadable schedules are closed
	} {
		if got := PerkOpen(tc.days, tc.hours, at(tc.at)); got != tc.want {
			t.Errorf("PerkOpen(%q, %q, %s) = %v, want %v", tc.days, tc.hours, tc.at, got, tc.want)
		}
	}
}

func TestDisplayName(t *testing.T) {
	ja := Member{FamilyName: "髙橋", GivenName: "﨑子", Locale: "ja"}
	en := Member{FamilyName: "Smith", GivenName: "Alex", Locale: "en"}
	enJa := Member{FamilyName: "佐藤", GivenName: "花子", Locale: "en"}
	if ja.DisplayName() != "髙橋 﨑." || en.DisplayName() != "A. Smith" || enJa.DisplayName() != "佐藤 花." {
		t.Fatalf("%q %q %q", ja.DisplayName(), en.DisplayName(), enJa.DisplayName())
	}
}

package csvimport

import (
	"strconv"
	"strings"
	"time"
)

// Years a departure date may fall in; outside them it is surely a typo.
const (
	minYear = 1900
	maxYear = 2100
)

// dateReason says what is wrong with a date.
type dateReason int

const (
	dateSyntax dateReason = iota
	dateSerial
	dateEra
	dateTwoDigitYear
	dateYearLast
	dateNotExist
	dateRange
	dateTime
)

// normaliseDate accepts 2024-03-31, 2024/3/31, 2024.3.31, 2024年3月31日 and
// 20240331, optionally followed by a midnight time as Excel writes a date
// cell that has a time format ("2024/03/31 0:00"). It refuses Excel serial
// numbers (45382): they depend on the workbook's 1900 or 1904 date system.
func normaliseDate(col, value string) (time.Time, *fault) {
	v := trimSpace(nfkc(value))
	if v == "" {
		return time.Time{}, faultRequired(col, fieldDepartedOn)
	}
	date := v
	if d, t, ok := strings.Cut(v, " "); ok && strings.Contains(t, ":") {
		if !isMidnight(trimSpace(t)) {
			return time.Time{}, faultDate(v, dateTime, time.Time{})
		}
		date = d
	}
	y, m, d, reason := splitDate(date)
	switch {
	case reason == dateSerial:
		return time.Time{}, faultDate(v, dateSerial, serialDate(date))
	case y == 0:
		return time.Time{}, faultDate(v, reason, time.Time{})
	case y < minYear || y > maxYear:
		return time.Time{}, faultDate(v, dateRange, time.Time{})
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Year() != y || int(t.Month()) != m || t.Day() != d {
		return time.Time{}, faultDate(v, dateNotExist, time.Time{})
	}
	return t, nil
}

// splitDate reads year, month and day from s. When it cannot, y is 0 and the
// reason says why. When it can, the reason is dateSyntax (no fault yet) and
// the caller checks the range and the calendar.
func splitDate(s string) (y, m, d int, reason dateReason) {
	if isEra(s) {
		return 0, 0, 0, dateEra
	}
	if allDigits(s) {
		switch {
		case len(s) == 8:
			y, _ = strconv.Atoi(s[:4])
			m, _ = strconv.Atoi(s[4:6])
			d, _ = strconv.Atoi(s[6:])
			return y, m, d, dateSyntax
		case len(s) <= 6:
			return 0, 0, 0, dateSerial
		}
		return 0, 0, 0, dateSyntax
	}
	var parts []string
	if strings.HasSuffix(s, "日") {
		ys, rest, ok1 := strings.Cut(strings.TrimSuffix(s, "日"), "年")
		ms, ds, ok2 := strings.Cut(rest, "月")
		if !ok1 || !ok2 {
			return 0, 0, 0, dateSyntax
		}
		parts = []string{ys, ms, ds}
	} else {
		sep := strings.IndexAny(s, "-/.")
		if sep < 0 {
			return 0, 0, 0, dateSyntax
		}
		parts = strings.Split(s, s[sep:sep+1])
	}
	if len(parts) != 3 {
		return 0, 0, 0, dateSyntax
	}
	for _, p := range parts {
		if p == "" || len(p) > 4 || !allDigits(p) {
			return 0, 0, 0, dateSyntax
		}
	}
	switch {
	case len(parts[2]) == 4 && len(parts[0]) <= 2:
		return 0, 0, 0, dateYearLast
	case len(parts[0]) <= 2:
		return 0, 0, 0, dateTwoDigitYear
	case len(parts[0]) != 4 || len(parts[1]) > 2 || len(parts[2]) > 2:
		return 0, 0, 0, dateSyntax
	}
	y, _ = strconv.Atoi(parts[0])
	m, _ = strconv.Atoi(parts[1])
	d, _ = strconv.Atoi(parts[2])
	return y, m, d, dateSyntax
}

// isMidnight reports whether t is "0:00", "00:00" or "0:00:00".
func isMidnight(t string) bool {
	h, rest, ok := strings.Cut(t, ":")
	if !ok || (h != "0" && h != "00") {
		return false
	}
	return rest == "00" || rest == "00:00"
}

// isEra reports whether s is written with a Japanese era (令和6年…, R6.3.31).
func isEra(s string) bool {
	for _, era := range []string{"令和", "平成", "昭和", "大正", "明治", "元年"} {
		if strings.Contains(s, era) {
			return true
		}
	}
	if len(s) >= 2 && strings.ContainsRune("RHSTMrhstm", rune(s[0])) && s[1] >= '0' && s[1] <= '9' {
		return true
	}
	return false
}

// allDigits reports whether s is non-empty and only ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// serialDate returns the date an Excel serial number means in the default
// 1900 date system, or the zero time when it means none (Excel counts a
// 29 February 1900 that never was, so serials below 61 are left alone).
func serialDate(s string) time.Time {
	n, err := strconv.Atoi(s)
	if err != nil || n < 61 {
		return time.Time{}
	}
	return time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n)
}

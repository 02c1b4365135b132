package verify

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends the decision as encoding/json would write it, byte for
// byte (a test holds it to that). The verify answer is written for every
// scan, and encoding it by reflection was a visible share of the server's
// CPU per scan (docs/benchmarks.md).
func (d *Decision) AppendJSON(b []byte) []byte {
	b = append(b, `{"result":`...)
	b = appendString(b, d.Result)
	if d.VerificationID != "" {
		b = append(b, `,"verification_id":`...)
		b = appendString(b, d.VerificationID)
	}
	if d.Kind != "" {
		b = append(b, `,"kind":`...)
		b = appendString(b, d.Kind)
	}
	if d.DisplayName != "" {
		b = append(b, `,"display_name":`...)
		b = appendString(b, d.DisplayName)
	}
	if d.Tier != "" {
		b = append(b, `,"tier":`...)
		b = appendString(b, d.Tier)
	}
	b = append(b, `,"companions_allowed":`...)
	b = strconv.AppendInt(b, int64(d.CompanionsAllowed), 10)
	if d.PartySize != 0 {
		b = append(b, `,"party_size":`...)
		b = strconv.AppendInt(b, int64(d.PartySize), 10)
	}
	if len(d.Perks) > 0 {
		b = append(b, `,"perks":[`...)
		for i, p := range d.Perks {
			if i > 0 {
				b = append(b, ',')
			}
			b = p.appendJSON(b)
		}
		b = append(b, ']')
	}
	b = append(b, `,"usable":`...)
	b = strconv.AppendBool(b, d.Usable)
	if d.UnusableReason != "" {
		b = append(b, `,"unusable_reason":`...)
		b = appendString(b, d.UnusableReason)
	}
	b = append(b, `,"repeat":`...)
	b = strconv.AppendBool(b, d.Repeat)
	if d.Redeemed {
		b = append(b, `,"redeemed":true`...)
	}
	if len(d.Redemptions) > 0 {
		b = append(b, `,"redemptions":[`...)
		for i, r := range d.Redemptions {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"perk_id":`...)
			b = appendString(b, r.PerkID)
			b = append(b, `,"party_size":`...)
			b = strconv.AppendInt(b, int64(r.PartySize), 10)
			b = append(b, `,"at":`...)
			b = appendTime(b, r.At)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if d.FirstUsedAt != nil {
		b = append(b, `,"first_used_at":`...)
		b = appendTime(b, *d.FirstUsedAt)
	}
	if d.FirstVenue != "" {
		b = append(b, `,"first_venue":`...)
		b = appendString(b, d.FirstVenue)
	}
	if d.OffsetSeconds != nil {
		b = append(b, `,"offset_seconds":`...)
		b = strconv.AppendInt(b, int64(*d.OffsetSeconds), 10)
	}
	if d.StaleCause != "" {
		b = append(b, `,"stale_cause":`...)
		b = appendString(b, d.StaleCause)
	}
	if d.ValidUntil != nil {
		b = append(b, `,"valid_until":`...)
		b = appendTime(b, *d.ValidUntil)
	}
	b = append(b, `,"reason":`...)
	b = appendString(b, d.Reason)
	b = append(b, `,"checked_at":`...)
	b = appendTime(b, d.CheckedAt)
	return append(b, '}')
}

func (p *PerkView) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, p.ID)
	b = append(b, `,"title":`...)
	b = appendString(b, p.Title)
	if p.TitleEn != "" {
		b = append(b, `,"title_en":`...)
		b = appendString(b, p.TitleEn)
	}
	b = append(b, `,"companions":`...)
	b = strconv.AppendInt(b, int64(p.Companions), 10)
	b = append(b, `,"max_party":`...)
	b = strconv.AppendInt(b, int64(p.MaxParty), 10)
	b = append(b, `,"usable":`...)
	b = strconv.AppendBool(b, p.Usable)
	if p.UnusableReason != "" {
		b = append(b, `,"unusable_reason":`...)
		b = appendString(b, p.UnusableReason)
	}
	if p.UsesLeft != nil {
		b = append(b, `,"uses_left":`...)
		b = strconv.AppendInt(b, int64(*p.UsesLeft), 10)
	}
	return append(b, '}')
}

// appendString quotes s. Printable ASCII and valid UTF-8 (Japanese names)
// are copied; anything encoding/json would escape or replace (quotes,
// backslashes, <, >, &, control characters, U+2028, U+2029, invalid UTF-8)
// is handed to encoding/json itself, so the two can never differ.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return appendMarshalled(b, s)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			return appendMarshalled(b, s)
		}
		i += size
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendMarshalled(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always encodes
	return append(b, q...)
}

// appendTime writes what time.Time.MarshalJSON writes for the years a
// verification can carry.
func appendTime(b []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y > 9999 {
		q, _ := json.Marshal(t) // MarshalJSON refuses such years; so does the answer
		return append(b, q...)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

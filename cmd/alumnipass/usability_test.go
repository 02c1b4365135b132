package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/i18n"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/static"
)

// answerPerk is the perk with this id in a verify answer, or nil.
func answerPerk(r *response, id string) map[string]any {
	ps, _ := r.JSON["perks"].([]any)
	for _, p := range ps {
		if m, _ := p.(map[string]any); m != nil && m["id"] == id {
			return m
		}
	}
	return nil
}

// limitedPerk adds a partner with one perk usable once a day (written in
// Japanese and English) and a device key for it.
func limitedPerk(ts *testServer, extra map[string]any) (partnerID, perkID, key string) {
	ts.t.Helper()
	p := ts.must(ts.do("POST", "/api/v1/partners", ts.HRToken, map[string]any{"name": "そば処 " + fmt.Sprint(time.Now().UnixNano()), "kind": "restaurant"}), 201)
	in := map[string]any{"title": "ランチ10%オフ", "title_en": "10% off lunch", "description": "平日のランチ",
		"description_en": "Weekday lunch", "eligible_tiers": []string{"*"}, "companions": 1, "limit_per_day": 1}
	for k, v := range extra {
		in[k] = v
	}
	pk := ts.must(ts.do("POST", "/api/v1/partners/"+p.Str("id")+"/perks", ts.HRToken, in), 201)
	k := ts.must(ts.do("POST", "/api/v1/partners/"+p.Str("id")+"/keys", ts.HRToken, map[string]any{"name": "レジ"}), 201)
	return p.Str("id"), pk.Str("id"), k.Str("key")
}

// TestVerifyPerkUsability: a valid answer says whether each perk can still
// be used now. Once the day's use is recorded, a re-scan of the same code
// says "already recorded" and a new code says the daily limit is reached,
// the code the redemption would be refused with.
func TestVerifyPerkUsability(t *testing.T) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			ts := startServer(t, dialect)
			f := ts.newFixture("gold")
			now := time.Now().UTC().Truncate(time.Second)
			ts.Clock.Set(now)
			_, perkID, key := limitedPerk(ts, nil)

			code := f.cardCode(t, now)
			first := ts.verify(key, code)
			p := answerPerk(first, perkID)
			if first.Str("result") != "valid" || first.JSON["usable"] != true || p == nil || p["usable"] != true || p["uses_left"] != 1.0 {
				t.Fatalf("first scan of the day: %s", first.Body)
			}
			if p["title_en"] != "10% off lunch" || p["max_party"] != 2.0 {
				t.Errorf("perk as listed: %v", p)
			}
			ts.must(ts.do("POST", "/api/v1/redemptions", key, map[string]any{"verification_id": first.Str("verification_id"),
				"perk_id": perkID, "party_size": 2}, "Idempotency-Key", "usability-1"), 201)

			again := ts.verify(key, code)
			p = answerPerk(again, perkID)
			if again.JSON["repeat"] != true || again.JSON["redeemed"] != true || again.JSON["usable"] != false ||
				again.Str("unusable_reason") != "already_recorded" || p == nil || p["unusable_reason"] != "already_recorded" {
				t.Fatalf("re-scan after the record: %s", again.Body)
			}
			if rs, _ := again.JSON["redemptions"].([]any); len(rs) != 1 || rs[0].(map[string]any)["party_size"] != 2.0 {
				t.Errorf("re-scan lists %v", again.JSON["redemptions"])
			}

			ts.Clock.Set(now.Add(30 * time.Second))
			later := ts.verify(key, f.cardCode(t, now.Add(30*time.Second)))
			p = answerPerk(later, perkID)
			if later.Str("result") != "valid" || later.JSON["repeat"] != false || later.JSON["usable"] != false ||
				later.Str("unusable_reason") != "daily_limit_reached" || p["unusable_reason"] != "daily_limit_reached" || p["uses_left"] != 0.0 {
				t.Fatalf("a new scan the same day: %s", later.Body)
			}
			if later.JSON["companions_allowed"] != 0.0 {
				t.Errorf("no usable perk, yet companions_allowed %v", later.JSON["companions_allowed"])
			}
			r := ts.do("POST", "/api/v1/redemptions", key, map[string]any{"verification_id": later.Str("verification_id"),
				"perk_id": perkID, "party_size": 1}, "Idempotency-Key", "usability-2")
			if r.Status != 409 || r.Code() != "daily_limit_reached" {
				t.Errorf("the answer said daily_limit_reached; the redemption answers %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestVerifyPerkNotOfferedNow: when the tier has perks here but none at this
// hour, not_eligible says so rather than suggesting a wrong tier.
func TestVerifyPerkNotOfferedNow(t *testing.T) {
	ts := startServer(t, store.SQLite)
	f := ts.newFixture("gold")
	now := time.Now().UTC().Truncate(time.Second)
	ts.Clock.Set(now)
	h := now.In(time.FixedZone("JST", 9*3600)).Hour()
	_, _, key := limitedPerk(ts, map[string]any{"hours": fmt.Sprintf("%02d:00-%02d:00", (h+2)%24, (h+3)%24)})
	r := ts.verify(key, f.cardCode(t, now))
	if r.Str("result") != "not_eligible" || r.Str("unusable_reason") != "not_available_now" || r.JSON["usable"] != false {
		t.Fatalf("perk outside its hours: %s", r.Body)
	}
	_, _, key = limitedPerk(ts, map[string]any{"eligible_tiers": []string{"platinum"}})
	if r := ts.verify(key, f.cardCode(t, now)); r.Str("result") != "not_eligible" || r.JSON["unusable_reason"] != nil {
		t.Fatalf("perk for another tier: %s", r.Body)
	}
}

// TestVerifyStaleCause tells a wrong phone clock from an old code (issue
// 19 item 3): "clock" only for a code from the future, a code off by what
// the wallet reported of its own clock, or an offset that stays the same
// across scans a minute or more apart; anything else is an old code (a
// screenshot), however far off.
func TestVerifyStaleCause(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		now := time.Now().UTC().Truncate(time.Second)
		ts.Clock.Set(now)
		// Cards are issued an hour before the scans, whatever the clock was.
		card := func() *fixture {
			ts.Clock.Set(now.Add(-time.Hour))
			f := ts.newFixture("gold")
			ts.Clock.Set(now)
			return f
		}
		scan := func(t *testing.T, f *fixture, codeAt time.Time) string {
			t.Helper()
			r := ts.verify(f.DeviceKey, f.cardCode(t, codeAt))
			if r.Str("result") != "stale" {
				t.Fatalf("code of %v at %v: %s", codeAt.Sub(ts.Clock.Now()), ts.Clock.Now(), r.Body)
			}
			return r.Str("stale_cause")
		}
		t.Run("first scans", func(t *testing.T) {
			for _, tc := range []struct {
				shift time.Duration
				want  string
			}{
				{-90 * time.Second, "old_code"},
				{-3 * time.Minute, "old_code"},
				{-20 * time.Minute, "old_code"}, // far, but nothing says it is steady
				{-3 * time.Hour, "old_code"},
				{2 * time.Minute, "clock"},    // no picture is from the future
				{-13 * time.Hour, "old_code"}, // matches no time within the search
			} {
				if got := scan(t, card(), now.Add(tc.shift)); got != tc.want {
					t.Errorf("code %v off: stale_cause %s, want %s", tc.shift, got, tc.want)
				}
			}
		})
		t.Run("a steady clock", func(t *testing.T) {
			f := card()
			ts.Clock.Set(now)
			if got := scan(t, f, now.Add(-20*time.Minute)); got != "old_code" {
				t.Fatalf("first scan: %s", got)
			}
			ts.Clock.Set(now.Add(2 * time.Minute)) // the live card, two minutes later, still 20 minutes slow
			if got := scan(t, f, now.Add(2*time.Minute-20*time.Minute)); got != "clock" {
				t.Fatalf("second scan with the same offset: %s", got)
			}
		})
		t.Run("a screenshot shown twice", func(t *testing.T) {
			f := card()
			taken := now.Add(-5 * time.Minute)
			ts.Clock.Set(now)
			first := scan(t, f, taken)
			ts.Clock.Set(now.Add(2 * time.Minute)) // the same picture, older by two minutes
			if second := scan(t, f, taken); first != "old_code" || second != "old_code" {
				t.Fatalf("screenshot: %s then %s", first, second)
			}
		})
		t.Run("the wallet reported its clock", func(t *testing.T) {
			f := card()
			ts.Clock.Set(now)
			phone := now.Add(-20 * time.Minute) // the phone is 20 minutes slow
			cookie := []string{"Cookie", "ap_wallet=" + f.WalletToken}
			ts.must(ts.do("GET", fmt.Sprintf("/api/v1/time?client_ms=%d", phone.UnixMilli()), "", nil, cookie...), 200)
			if got := scan(t, f, phone); got != "clock" {
				t.Fatalf("code off by the reported clock: %s", got)
			}
			g := card() // another card's report says nothing of this one
			if got := scan(t, g, now.Add(-20*time.Minute)); got != "old_code" {
				t.Fatalf("another card: %s", got)
			}
		})
	})
}

// TestPerkEnglishFields: a perk's English title and description are kept
// and listed; too long ones are refused.
func TestPerkEnglishFields(t *testing.T) {
	ts := startServer(t, store.SQLite)
	partnerID, perkID, _ := limitedPerk(ts, nil)
	list := ts.must(ts.do("GET", "/api/v1/partners/"+partnerID+"/perks", ts.HRToken, nil), 200)
	ps, _ := list.JSON["perks"].([]any)
	if len(ps) != 1 || ps[0].(map[string]any)["id"] != perkID || ps[0].(map[string]any)["title_en"] != "10% off lunch" ||
		ps[0].(map[string]any)["description_en"] != "Weekday lunch" {
		t.Fatalf("perks: %s", list.Body)
	}
	long := make([]byte, 101)
	for i := range long {
		long[i] = 'a'
	}
	r := ts.do("POST", "/api/v1/partners/"+partnerID+"/perks", ts.HRToken, map[string]any{"title": "x", "title_en": string(long), "eligible_tiers": []string{"*"}})
	if r.Status != 400 || r.Code() != "invalid_title_en" {
		t.Fatalf("a 101-character English title: %d %s", r.Status, r.Body)
	}
}

// TestWalletPerksInReadersLanguage: the wallet lists a perk in the page's
// language (its English title and description on an English page), with
// English plurals ("1 companion"), and every page links the favicon, which
// is served with a cache header.
func TestWalletPerksInReadersLanguage(t *testing.T) {
	ts := startServer(t, store.SQLite)
	f := ts.newFixture("gold")
	limitedPerk(ts, nil)
	cookie := []string{"Cookie", "ap_wallet=" + f.WalletToken}
	en := string(ts.must(ts.do("GET", "/w?lang=en", "", nil, cookie...), 200).Body)
	for _, want := range []string{"10% off lunch", "Weekday lunch", "Covers up to 1 companion<", "Covers up to 3 companions<"} {
		if !strings.Contains(en, want) {
			t.Errorf("English wallet lacks %q", want)
		}
	}
	if strings.Contains(en, "ランチ10%オフ") || strings.Contains(en, "1 companions") {
		t.Errorf("English wallet shows the Japanese title or a wrong plural")
	}
	ja := string(ts.must(ts.do("GET", "/w?lang=ja", "", nil, cookie...), 200).Body)
	if !strings.Contains(ja, "ランチ10%オフ") || !strings.Contains(ja, "平日のランチ") || strings.Contains(ja, "10% off lunch") {
		t.Errorf("Japanese wallet does not show the Japanese perk")
	}
	for _, page := range []string{"/w", "/scan", "/admin/login"} {
		r := ts.do("GET", page, "", nil, cookie...)
		if n := strings.Count(string(r.Body), `rel="icon"`); r.Status != 200 || n != 2 {
			t.Errorf("%s (%d) links %d icons, want the ICO and the SVG once each", page, r.Status, n)
		}
	}
	ico := ts.must(ts.do("GET", "/favicon.ico", "", nil), 200)
	if cc := ico.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=86400") || len(ico.Body) < 100 || ico.Body[2] != 1 {
		t.Errorf("/favicon.ico: %q, %d bytes", cc, len(ico.Body))
	}
}

// TestScannerSpeaksEveryRefusal: every result a verify can answer and every
// error code the verify and redemption routes (and the generic error
// handler) can send has a scanner message in Japanese and in English, so
// no refusal reaches the counter in the server's English.
func TestScannerSpeaksEveryRefusal(t *testing.T) {
	c, err := i18n.Load(static.FS, "i18n")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for code := range constants(t, "../../internal/model/model.go", `Result\w+\s*=\s*"([a-z_]+)"`) {
		want["scan.result."+code] = true
	}
	for _, src := range []struct{ file, pattern string }{
		{"../../internal/partners/redemptions.go", `(?:NewProblem\(model\.Err\w+|Invalidf\([^,()]+),\s*"([a-z_]+)"`},
		{"../../internal/web/api/verify.go", `(?:NewProblem\(model\.Err\w+|Invalidf\([^,()]+),\s*"([a-z_]+)"`},
		{"../../internal/web/httpkit/errors.go", `case "([a-z_]+)":`},
		{"../../internal/verify/usability.go", `Unusable\w+\s*=\s*"([a-z_]+)"`},
	} {
		prefix := "scan.error."
		if strings.HasSuffix(src.file, "usability.go") {
			prefix = "scan.unusable."
		}
		for code := range constants(t, src.file, src.pattern) {
			want[prefix+code] = true
		}
	}
	if len(want) < 40 {
		t.Fatalf("only %d results and codes found; have the patterns gone stale?", len(want))
	}
	for _, lang := range []string{"ja", "en"} {
		have := c.Keys(lang)
		for k := range want {
			if !have[k] {
				t.Errorf("%s: the scanner has no message %q", lang, k)
			}
		}
	}
}

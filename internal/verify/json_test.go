package verify

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

// plainDecision has Decision's fields and tags but no AppendJSON: what
// encoding/json makes of it is the reference.
type plainDecision Decision

func TestDecisionJSONMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	texts := []string{"", "valid", "0190c3b2-7d6e-7c1a-9f00-0123456789ab", "山田 太郎", "Bar & Grill <Ginza>", `quote " back \ slash`,
		"tab\tnew\nline", "\u2028\u2029", "bad \xff utf-8", "ｶﾀｶﾅ①㈱", "emoji 🍣"}
	pick := func() string { return texts[rng.IntN(len(texts))] }
	tokyo := time.FixedZone("JST", 9*3600)
	times := []time.Time{
		time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 24, 21, 30, 5, 123456789, tokyo),
		time.Date(2026, 1, 2, 3, 4, 5, 100000000, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		{},
	}
	for i := range 2000 {
		d := Decision{Result: pick(), VerificationID: pick(), Kind: pick(), DisplayName: pick(), Tier: pick(),
			CompanionsAllowed: rng.IntN(5) - 1, PartySize: rng.IntN(3), Repeat: rng.IntN(2) == 0, FirstVenue: pick(),
			Reason: pick(), CheckedAt: times[rng.IntN(len(times))]}
		for range rng.IntN(3) {
			pv := PerkView{ID: pick(), Title: pick(), TitleEn: pick(), Companions: rng.IntN(4), MaxParty: rng.IntN(5),
				Usable: rng.IntN(2) == 0, UnusableReason: pick()}
			if rng.IntN(2) == 0 {
				left := rng.IntN(3)
				pv.UsesLeft = &left
			}
			d.Perks = append(d.Perks, pv)
		}
		d.Usable, d.UnusableReason, d.Redeemed, d.StaleCause = rng.IntN(2) == 0, pick(), rng.IntN(2) == 0, pick()
		for range rng.IntN(3) {
			d.Redemptions = append(d.Redemptions, Recorded{PerkID: pick(), PartySize: rng.IntN(4), At: times[rng.IntN(len(times))]})
		}
		if rng.IntN(2) == 0 {
			at := times[rng.IntN(len(times))]
			d.FirstUsedAt = &at
		}
		if rng.IntN(2) == 0 {
			until := times[rng.IntN(len(times))]
			d.ValidUntil = &until
		}
		if rng.IntN(2) == 0 {
			off := rng.IntN(80000) - 40000
			d.OffsetSeconds = &off
		}
		want, wantErr := json.Marshal((*plainDecision)(&d))
		got := d.AppendJSON(nil)
		if wantErr != nil {
			// encoding/json refuses years past 9999; the fast encoder
			// must not produce JSON that claims otherwise.
			if json.Valid(got) {
				t.Fatalf("case %d: encoding/json refuses (%v) but AppendJSON wrote valid JSON %s", i, wantErr, got)
			}
			continue
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func BenchmarkDecisionJSON(b *testing.B) {
	at := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	d := Decision{Result: "valid", VerificationID: "0190c3b2-7d6e-7c1a-9f00-0123456789ab", Kind: "member", DisplayName: "Yamada Taro",
		Tier: "standard", CompanionsAllowed: 2, Perks: []PerkView{{ID: "0190c3b2-7d6e-7c1a-9f00-0123456789ac", Title: "10% off", Companions: 2}},
		Reason: "Valid: the perks apply.", CheckedAt: at}
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 512)
		for b.Loop() {
			buf = d.AppendJSON(buf[:0])
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(&d); err != nil {
				b.Fatal(err)
			}
		}
	})
}

package verify

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/credential"
	"github.com/alumnipass/alumnipass/internal/keyring"
	"github.com/alumnipass/alumnipass/internal/members"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/seal"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

type rig struct {
	st     *store.Store
	v      *Verifier
	log    *Log
	device *model.Principal
	cards  []issued
	now    time.Time
	step   atomic.Int64 // 30-second steps the verifier's clock is ahead of now
}

// at is the rig's clock: now plus the current number of steps.
func (r *rig) at() time.Time { return r.now.Add(time.Duration(r.step.Load()) * 30 * time.Second) }

type issued struct {
	id, memberID string
	signed       string
	secret       []byte
}

// newRig issues n cards and one venue with a perk for every tier.
func newRig(tb testing.TB, dialect string, n int) *rig {
	tb.Helper()
	ctx := context.Background()
	st := storetest.Open(tb, dialect)
	storetest.Must(tb, st.Listen(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))))
	for i := 0; i < 200 && !st.Events().Healthy(); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)))
	storetest.Must(tb, err)
	now := time.Now().UTC().Truncate(time.Second)
	clock := func() time.Time { return now }
	// Cards are valid for a year so the benchmark clock may run ahead.
	keys, err := keyring.New(ctx, st, sealer, clock)
	storetest.Must(tb, err)
	ms := members.New(st, keys, sealer, clock, members.Options{BaseURL: "http://x", CardValidity: 365 * 24 * time.Hour, EnrollValidity: time.Hour})
	p := &model.Principal{Kind: "test", ID: "t", Name: "t", Role: model.RoleHR}
	partner := &model.Partner{ID: uuid.NewString(), Name: "p", Kind: "restaurant", CreatedAt: now}
	venue := &model.Venue{ID: uuid.NewString(), PartnerID: partner.ID, Name: "v", CreatedAt: now}
	storetest.Must(tb, st.CreatePartner(ctx, partner))
	storetest.Must(tb, st.CreateVenue(ctx, venue))
	storetest.Must(tb, st.CreatePerk(ctx, &model.Perk{ID: uuid.NewString(), PartnerID: partner.ID, Title: "x", EligibleTiers: "*", Companions: 2, Active: true, CreatedAt: now}))
	r := &rig{st: st, now: now, device: &model.Principal{Kind: "device", ID: uuid.NewString(), Role: model.RoleDevice, PartnerID: partner.ID, VenueID: venue.ID}}
	for i := range n {
		m, err := ms.Create(ctx, p, members.Input{EmployeeNo: fmt.Sprintf("B%06d", i), FamilyName: "山田", GivenName: "太郎", Email: fmt.Sprintf("b%d@example.com", i), Tier: "gold", DepartedOn: "2024-01-01"})
		storetest.Must(tb, err)
		ic, err := ms.IssueCard(ctx, p, m.ID)
		storetest.Must(tb, err)
		card, err := st.Card(ctx, ic.CardID)
		storetest.Must(tb, err)
		secret, err := sealer.Open(card.TOTPSecretEnc, "card:"+card.ID)
		storetest.Must(tb, err)
		r.cards = append(r.cards, issued{id: card.ID, memberID: m.ID, signed: card.SignedPart, secret: secret})
	}
	r.log = NewLog(st, 1, 512, 0)
	tb.Cleanup(r.log.Close)
	r.v = New(st, keys, sealer, r.log, r.at, 100_000)
	tb.Cleanup(r.v.Close)
	return r
}

// BenchmarkDecide is the in-memory part of a scan (parse, cached card,
// TOTP, perks) with no database write: what the hot path costs in CPU and
// allocations once the card is cached.
func BenchmarkDecide(b *testing.B) {
	r := newRig(b, store.SQLite, 16)
	ctx := context.Background()
	codes := make([]string, len(r.cards))
	for i, c := range r.cards {
		codes[i] = credential.CardCode(c.signed, credential.TOTP(c.secret, r.now))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := &Decision{}
		rec := model.Verification{ID: "x", CodeHash: hashCode(codes[i%len(codes)])}
		var claim *store.CodeUse
		var exp time.Time
		if err := r.v.decide(ctx, r.device, codes[i%len(codes)], r.now, d, &rec, &claim, &exp); err != nil || d.Result != model.ResultValid {
			b.Fatalf("%v %s", err, d.Result)
		}
	}
}

// BenchmarkVerifyLogged is a whole scan, decision and committed log row,
// from many goroutines: the group commit shows as throughput.
func BenchmarkVerifyLogged(b *testing.B) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		b.Run(dialect, func(b *testing.B) {
			r := newRig(b, dialect, 256)
			ctx := context.Background()
			var seq atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(16)
			b.ResetTimer()
			n := int64(len(r.cards))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					// Every scan is a first use: each card is scanned once
					// per 30-second step, and the clock moves a step after
					// every round of cards, as a lunch rush of many members.
					i := seq.Add(1)
					for cur := r.step.Load(); cur < i/n && !r.step.CompareAndSwap(cur, i/n); cur = r.step.Load() {
					}
					c := r.cards[i%n]
					code := credential.CardCode(c.signed, credential.TOTP(c.secret, r.now.Add(time.Duration(i/n)*30*time.Second)))
					d, err := r.v.Verify(ctx, r.device, code)
					if err != nil {
						b.Fatal(err)
					}
					if d.Result != model.ResultValid {
						b.Fatalf("result %s", d.Result)
					}
				}
			})
		})
	}
}

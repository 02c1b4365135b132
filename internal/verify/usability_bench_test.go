package verify

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/credential"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// BenchmarkDecideUsability is BenchmarkDecide at a partner whose perks have
// daily and monthly limits: the one read of perk_usage a valid scan then
// costs (compare with BenchmarkDecide, where no perk has a limit and the
// read is skipped).
func BenchmarkDecideUsability(b *testing.B) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		b.Run(dialect, func(b *testing.B) {
			r := newRig(b, dialect, 16)
			ctx := context.Background()
			for i := range 3 {
				storetest.Must(b, r.st.CreatePerk(ctx, &model.Perk{ID: uuid.NewString(), PartnerID: r.device.PartnerID, Title: "limited",
					EligibleTiers: "*", Companions: i, LimitPerDay: 1 + i, LimitPerMonth: 10, Active: true, CreatedAt: r.now}))
			}
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
				if err := r.v.decide(ctx, r.device, codes[i%len(codes)], r.now, d, &rec, &claim, &exp); err != nil || d.Result != model.ResultValid || !d.Usable {
					b.Fatalf("%v %s usable=%v", err, d.Result, d.Usable)
				}
			}
		})
	}
}

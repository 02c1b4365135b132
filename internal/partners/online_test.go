package partners_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/partners"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// changeAfterRead is the database with one change made right after the
// service has read the member: the change lands between the online
// redemption's read and its insert, as an HR edit made at that moment
// does.
type changeAfterRead struct {
	partners.Storer
	once   *sync.Once
	change func()
}

func (c changeAfterRead) Member(ctx context.Context, id string) (*model.Member, error) {
	m, err := c.Storer.Member(ctx, id)
	c.once.Do(c.change)
	return m, err
}

// TestOnlineRedemptionRechecksWhatItRead: a change to the member's tier or
// the perk's rules between the read and the insert of an online redemption
// is not granted on what was read: the insert refuses, the redemption is
// decided again, and the answer is the one the changed rows give.
func TestOnlineRedemptionRechecksWhatItRead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		plain := partners.New(st, []byte("pseudonym key for tests, 32 b..."), time.Now, partners.Options{})
		p, err := plain.CreatePartner(ctx, hr, partners.PartnerInput{Name: "Hotel", Kind: "hotel"})
		storetest.Must(t, err)
		for _, tc := range []struct {
			name   string
			change func(m *model.Member, k *model.Perk)
			party  int
			code   string // "" granted
			uses   int
		}{
			{"nothing changed", func(*model.Member, *model.Perk) {}, 2, "", 0},
			{"tier lowered", func(m *model.Member, _ *model.Perk) { m.Tier = "silver"; storetest.Must(t, st.UpdateMember(ctx, m)) }, 1, "not_eligible", 0},
			{"perk narrowed", func(_ *model.Member, k *model.Perk) { k.Companions = 0; storetest.Must(t, st.UpdatePerk(ctx, k)) }, 2, "party_too_large", 0},
			{"perk given a daily limit", func(_ *model.Member, k *model.Perk) { k.LimitPerDay = 1; storetest.Must(t, st.UpdatePerk(ctx, k)) }, 1, "", 1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				now := time.Now().UTC()
				m := &model.Member{ID: uuid.NewString(), EmployeeNo: "O" + uuid.NewString()[:8], FamilyName: "佐藤", GivenName: "花子",
					Email: "hanako@example.com", Tier: "gold", DepartedOn: "2024-03-31", Locale: "ja", Status: model.MemberActive,
					CreatedAt: now, UpdatedAt: now}
				storetest.Must(t, st.CreateMember(ctx, m))
				k, err := plain.CreatePerk(ctx, hr, p.ID, partners.PerkInput{Title: "朝食無料", EligibleTiers: []string{"gold"}, Companions: 2})
				storetest.Must(t, err)
				s := partners.New(changeAfterRead{Storer: st, once: &sync.Once{}, change: func() { tc.change(m, k) }},
					[]byte("pseudonym key for tests, 32 b..."), time.Now, partners.Options{})
				r, err := s.RedeemOnline(ctx, partners.OnlineGrant{MemberID: m.ID, PartnerID: p.ID, ClientID: "client-" + m.ID},
					uuid.NewString(), partners.OnlineRedeemInput{PerkID: k.ID, PartySize: tc.party, BookingReference: "B-1"})
				if got := problemCode(err); got != tc.code || tc.code == "" && (err != nil || r == nil) {
					t.Fatalf("want %q, got %v (%+v)", tc.code, err, r)
				}
				uses, err := st.PerkUses(ctx, m.ID, []string{k.ID}, []string{"d:" + time.Now().In(model.JST()).Format("2006-01-02")})
				storetest.Must(t, err)
				n := 0
				for _, u := range uses {
					n += u.Uses
				}
				if n != tc.uses {
					t.Fatalf("%d uses counted, want %d", n, tc.uses)
				}
			})
		}
	})
}

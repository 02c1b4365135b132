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

// changeAfterFacts is the database with one change made right after the
// service has read a redemption's facts: the change lands between the read
// and the insert, as an HR edit made at that moment does.
type changeAfterFacts struct {
	partners.Storer
	once   *sync.Once
	change func()
}

func (c changeAfterFacts) RedemptionFacts(ctx context.Context, apiKeyID, idemKey, verificationID, perkID string) (*store.RedemptionFacts, error) {
	f, err := c.Storer.RedemptionFacts(ctx, apiKeyID, idemKey, verificationID, perkID)
	c.once.Do(c.change)
	return f, err
}

// raceFixture is a partner made through the service (plain: without a
// change) and a way to make an active gold member.
type raceFixture struct {
	plain *partners.Service
	p     *partners.PartnerDetail
}

func newRaceFixture(t *testing.T, st *store.Store, kind string) raceFixture {
	t.Helper()
	plain := partners.New(st, []byte("pseudonym key for tests, 32 b..."), time.Now, partners.Options{})
	p, err := plain.CreatePartner(context.Background(), hr, partners.PartnerInput{Name: "店 " + kind, Kind: kind})
	storetest.Must(t, err)
	return raceFixture{plain: plain, p: p}
}

// changing is the service on st with change made once, by wrap, between a
// redemption's read and its insert.
func changing(st *store.Store, wrap func(partners.Storer) partners.Storer) *partners.Service {
	return partners.New(wrap(st), []byte("pseudonym key for tests, 32 b..."), time.Now, partners.Options{})
}

func goldMember(t *testing.T, st *store.Store) *model.Member {
	t.Helper()
	now := time.Now().UTC()
	m := &model.Member{ID: uuid.NewString(), EmployeeNo: "R" + uuid.NewString()[:8], FamilyName: "田中", GivenName: "一郎",
		Email: "ichiro@example.com", Tier: "gold", DepartedOn: "2024-03-31", Locale: "ja", Status: model.MemberActive,
		CreatedAt: now, UpdatedAt: now}
	storetest.Must(t, st.CreateMember(context.Background(), m))
	return m
}

// TestCounterRedemptionRechecksWhatItRead: a counter redemption read from
// the database is not granted on facts that changed before its insert —
// for a perk without limits (the shared insert) and one with a daily limit
// (the one-row insert in the limit's transaction) alike: a lowered tier
// answers not_eligible, a narrowed perk party_too_large, and nothing is
// written or counted.
func TestCounterRedemptionRechecksWhatItRead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		fx := newRaceFixture(t, st, "restaurant")
		plain, p := fx.plain, fx.p
		venue := p.Venues[0]
		kid := "k" + uuid.NewString()[:8]
		storetest.Must(t, st.AddSigningKey(ctx, &model.SigningKey{KeyID: kid, PublicKey: []byte{1}, PrivateKeyEnc: []byte{1}, Status: model.KeyActive, CreatedAt: now}))
		device := &model.Principal{Kind: "device", ID: "device-" + uuid.NewString()[:8], PartnerID: p.ID, VenueID: venue.ID}
		for _, limit := range []int{0, 3} {
			for _, tc := range []struct {
				name   string
				change func(m *model.Member, k *model.Perk)
				party  int
				code   string // "" granted
			}{
				{"nothing changed", func(*model.Member, *model.Perk) {}, 2, ""},
				{"tier lowered", func(m *model.Member, _ *model.Perk) { m.Tier = "silver"; storetest.Must(t, st.UpdateMember(ctx, m)) }, 1, "not_eligible"},
				{"perk narrowed", func(_ *model.Member, k *model.Perk) { k.Companions = 0; storetest.Must(t, st.UpdatePerk(ctx, k)) }, 2, "party_too_large"},
			} {
				t.Run(tc.name+map[int]string{0: ", no limit", 3: ", daily limit"}[limit], func(t *testing.T) {
					m := goldMember(t, st)
					c := &model.Card{ID: uuid.NewString(), MemberID: m.ID, Status: model.CardActive, KeyID: kid, SignedPart: "x",
						TOTPSecretEnc: []byte{1}, Companions: 3, IssuedAt: now, ExpiresAt: now.Add(time.Hour),
						EnrollTokenHash: uuid.NewString(), EnrollExpiresAt: now.Add(time.Hour)}
					storetest.Must(t, st.InTx(ctx, func(tx *store.Tx) error { return tx.IssueCard(ctx, c, "", now) }))
					k, err := plain.CreatePerk(ctx, hr, p.ID, partners.PerkInput{Title: "デザート", EligibleTiers: []string{"gold"}, Companions: 2, LimitPerDay: limit})
					storetest.Must(t, err)
					v := model.Verification{ID: uuid.Must(uuid.NewV7()).String(), At: time.Now(), PartnerID: p.ID, VenueID: venue.ID,
						APIKeyID: device.ID, Kind: "member", CardID: &c.ID, MemberID: &m.ID, CodeHash: uuid.NewString(), Result: model.ResultValid}
					storetest.Must(t, st.InsertVerifications(ctx, []model.Verification{v}))
					s := changing(st, func(db partners.Storer) partners.Storer {
						return changeAfterFacts{Storer: db, once: &sync.Once{}, change: func() { tc.change(m, k) }}
					})
					r, err := s.Redeem(ctx, device, uuid.NewString(), partners.RedeemInput{VerificationID: v.ID, PerkID: k.ID, PartySize: tc.party})
					if got := problemCode(err); got != tc.code || tc.code == "" && (err != nil || r == nil) {
						t.Fatalf("want %q, got %v (%+v)", tc.code, err, r)
					}
					var rows int
					if err := st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM redemptions WHERE perk_id = '"+k.ID+"'").Scan(&rows); err != nil {
						t.Fatal(err)
					}
					uses, err := st.PerkUses(ctx, m.ID, []string{k.ID}, []string{"d:" + time.Now().In(model.JST()).Format("2006-01-02")})
					storetest.Must(t, err)
					used := 0
					for _, u := range uses {
						used += u.Uses
					}
					wantRows, wantUses := 0, 0
					if tc.code == "" {
						wantRows = 1
						if limit > 0 {
							wantUses = 1
						}
					}
					if rows != wantRows || used != wantUses {
						t.Fatalf("%d rows and %d uses; want %d and %d", rows, used, wantRows, wantUses)
					}
				})
			}
		}
	})
}

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
		fx := newRaceFixture(t, st, "hotel")
		plain, p := fx.plain, fx.p
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
				m := goldMember(t, st)
				k, err := plain.CreatePerk(ctx, hr, p.ID, partners.PerkInput{Title: "朝食無料", EligibleTiers: []string{"gold"}, Companions: 2})
				storetest.Must(t, err)
				s := changing(st, func(db partners.Storer) partners.Storer {
					return changeAfterRead{Storer: db, once: &sync.Once{}, change: func() { tc.change(m, k) }}
				})
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

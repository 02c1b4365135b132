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
		plain := partners.New(st, []byte("pseudonym key for tests, 32 b..."), time.Now, partners.Options{})
		p, err := plain.CreatePartner(ctx, hr, partners.PartnerInput{Name: "和食 さくら", Kind: "restaurant"})
		storetest.Must(t, err)
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
					m := &model.Member{ID: uuid.NewString(), EmployeeNo: "R" + uuid.NewString()[:8], FamilyName: "田中", GivenName: "一郎",
						Email: "ichiro@example.com", Tier: "gold", DepartedOn: "2024-03-31", Locale: "ja", Status: model.MemberActive,
						CreatedAt: now, UpdatedAt: now}
					storetest.Must(t, st.CreateMember(ctx, m))
					c := &model.Card{ID: uuid.NewString(), MemberID: m.ID, Status: model.CardActive, KeyID: kid, SignedPart: "x",
						TOTPSecretEnc: []byte{1}, Companions: 3, IssuedAt: now, ExpiresAt: now.Add(time.Hour),
						EnrollTokenHash: uuid.NewString(), EnrollExpiresAt: now.Add(time.Hour)}
					storetest.Must(t, st.InTx(ctx, func(tx *store.Tx) error { return tx.IssueCard(ctx, c, "", now) }))
					k, err := plain.CreatePerk(ctx, hr, p.ID, partners.PerkInput{Title: "デザート", EligibleTiers: []string{"gold"}, Companions: 2, LimitPerDay: limit})
					storetest.Must(t, err)
					v := model.Verification{ID: uuid.Must(uuid.NewV7()).String(), At: time.Now(), PartnerID: p.ID, VenueID: venue.ID,
						APIKeyID: device.ID, Kind: "member", CardID: &c.ID, MemberID: &m.ID, CodeHash: uuid.NewString(), Result: model.ResultValid}
					storetest.Must(t, st.InsertVerifications(ctx, []model.Verification{v}))
					s := partners.New(changeAfterFacts{Storer: st, once: &sync.Once{}, change: func() { tc.change(m, k) }},
						[]byte("pseudonym key for tests, 32 b..."), time.Now, partners.Options{})
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

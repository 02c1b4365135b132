package partners_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/partners"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

func ptr[T any](v T) *T { return &v }

// heard records the change notices of a store.
func heard(st *store.Store) func(kind, id string) bool {
	var mu sync.Mutex
	var evs []store.Event
	st.Events().Subscribe(func(e store.Event) { mu.Lock(); evs = append(evs, e); mu.Unlock() })
	return func(kind, id string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range evs {
			if e.Kind == kind && e.ID == id {
				return true
			}
		}
		return false
	}
}

// TestPerkEdit: every field of a perk can be changed by the rules of
// creating one, and it can be switched off and on; audited before and
// after, announced with the partner's id; a manager edits only its own
// partner's perks.
func TestPerkEdit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		s := partners.New(st, []byte("pseudonym key for tests, 32 b..."), time.Now, partners.Options{})
		pa, err := s.CreatePartner(ctx, hr, partners.PartnerInput{Name: "和食 さくら", Kind: "restaurant"})
		storetest.Must(t, err)
		pk, err := s.CreatePerk(ctx, hr, pa.ID, partners.PerkInput{Title: "10%オフ", EligibleTiers: []string{"gold"}, Companions: 1})
		storetest.Must(t, err)
		seen := heard(st)
		got, err := s.UpdatePerk(ctx, hr, pa.ID, pk.ID, partners.PerkPatch{Title: ptr(" 20%オフ "), TitleEn: ptr("20% off"),
			EligibleTiers: ptr([]string{"gold", "silver"}), Companions: ptr(3), LimitPerDay: ptr(2), LimitPerMonth: ptr(10),
			Days: ptr([]string{"Friday", "sat"}), Hours: ptr("17:00-22:00"), Description: ptr("ドリンク別"), Active: ptr(false)})
		storetest.Must(t, err)
		stored, err := st.Perk(ctx, pk.ID)
		storetest.Must(t, err)
		if *got != *stored || stored.Title != "20%オフ" || stored.EligibleTiers != "gold,silver" || stored.Days != "fri,sat" ||
			stored.Companions != 3 || stored.LimitPerMonth != 10 || stored.Hours != "17:00-22:00" || stored.Active {
			t.Fatalf("edited perk: %+v", stored)
		}
		if !seen(store.EventPerk, pa.ID) {
			t.Fatal("no perk notice with the partner id")
		}
		es, err := st.ListAudit(ctx, store.AuditFilter{Action: "perk.update", Limit: 5})
		storetest.Must(t, err)
		if len(es) != 1 || es[0].TargetID != pa.ID || es[0].Before == es[0].After {
			t.Fatalf("audit: %+v", es)
		}
		active, err := st.PartnerPerks(ctx, pa.ID, true)
		storetest.Must(t, err)
		if len(active) != 0 {
			t.Fatalf("an inactive perk is listed as active: %v", active)
		}
		if _, err := s.UpdatePerk(ctx, hr, pa.ID, pk.ID, partners.PerkPatch{Active: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		for name, patch := range map[string]partners.PerkPatch{
			"title": {Title: ptr("")}, "tiers": {EligibleTiers: ptr([]string{})}, "hours": {Hours: ptr("9-5")},
			"companions": {Companions: ptr(99)}, "days": {Days: ptr([]string{"someday"})},
		} {
			if _, err := s.UpdatePerk(ctx, hr, pa.ID, pk.ID, patch); !errors.Is(err, model.ErrInvalid) {
				t.Errorf("%s: %v", name, err)
			}
		}
		other, err := s.CreatePartner(ctx, hr, partners.PartnerInput{Name: "Hotel", Kind: "hotel"})
		storetest.Must(t, err)
		mgr := &model.Principal{Kind: "admin", ID: "m", Name: "manager", Role: model.RolePartnerManager, PartnerID: other.ID}
		if _, err := s.UpdatePerk(ctx, mgr, pa.ID, pk.ID, partners.PerkPatch{Active: ptr(false)}); problemCode(err) != "partner_not_found" {
			t.Fatalf("another partner's manager: %v", err)
		}
		if _, err := s.UpdatePerk(ctx, hr, other.ID, pk.ID, partners.PerkPatch{Active: ptr(false)}); problemCode(err) != "perk_not_found" {
			t.Fatalf("a perk under the wrong partner: %v", err)
		}
		own := &model.Principal{Kind: "admin", ID: "m2", Name: "manager", Role: model.RolePartnerManager, PartnerID: pa.ID}
		if _, err := s.UpdatePerk(ctx, own, pa.ID, pk.ID, partners.PerkPatch{Companions: ptr(2)}); err != nil {
			t.Fatalf("its own manager: %v", err)
		}
		if _, err := s.UpdatePartner(ctx, own, pa.ID, partners.PartnerPatch{Active: ptr(false)}); !errors.Is(err, model.ErrForbidden) {
			t.Fatalf("a manager deactivating its partner: %v", err)
		}
	})
}

// TestPartnerDeactivationStopsKeys: once a partner is deactivated, every
// key of it is refused at once (a key cached by Bearer included), new keys
// and pairing are refused, and its perks leave the directory; a key that
// slips in afterwards is refused by the lookup itself. Closing a venue
// stops that venue's keys only; renames are audited and announced.
func TestPartnerDeactivationStopsKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		s := partners.New(st, []byte("pseudonym key for tests, 32 b..."), time.Now, partners.Options{})
		tokens := auth.New(st, time.Now)
		pa, err := s.CreatePartner(ctx, hr, partners.PartnerInput{Name: "Hotel", Kind: "hotel", VenueName: "本館"})
		storetest.Must(t, err)
		annex, err := s.AddVenue(ctx, hr, pa.ID, "別館")
		storetest.Must(t, err)
		_, err = s.CreatePerk(ctx, hr, pa.ID, partners.PerkInput{Title: "朝食", EligibleTiers: []string{"*"}})
		storetest.Must(t, err)
		main, err := s.CreateKey(ctx, hr, pa.ID, pa.Venues[0].ID, "front desk")
		storetest.Must(t, err)
		side, err := s.CreateKey(ctx, hr, pa.ID, annex.ID, "annex desk")
		storetest.Must(t, err)
		for _, k := range []string{main.Key, side.Key} {
			if _, err := tokens.Bearer(ctx, k); err != nil { // cached from now on
				t.Fatal(err)
			}
		}
		seen := heard(st)

		v, err := s.UpdateVenue(ctx, hr, pa.ID, annex.ID, partners.VenuePatch{Name: ptr("別館 (旧)"), Closed: ptr(true)})
		storetest.Must(t, err)
		if v.ClosedAt == nil || v.Name != "別館 (旧)" || !seen(store.EventPartner, pa.ID) {
			t.Fatalf("closed venue: %+v", v)
		}
		if _, err := tokens.Bearer(ctx, side.Key); !errors.Is(err, model.ErrUnauthorized) {
			t.Fatalf("a closed venue's key: %v", err)
		}
		if _, err := tokens.Bearer(ctx, main.Key); err != nil {
			t.Fatalf("the other venue's key stopped: %v", err)
		}
		if _, err := s.CreateKey(ctx, hr, pa.ID, annex.ID, "again"); problemCode(err) != "venue_closed" {
			t.Fatalf("a key for a closed venue: %v", err)
		}

		d, err := s.UpdatePartner(ctx, hr, pa.ID, partners.PartnerPatch{Name: ptr("Hotel Tokyo"), Active: ptr(false)})
		storetest.Must(t, err)
		if d.DeactivatedAt == nil || d.Name != "Hotel Tokyo" {
			t.Fatalf("deactivated partner: %+v", d.Partner)
		}
		if _, err := tokens.Bearer(ctx, main.Key); !errors.Is(err, model.ErrUnauthorized) {
			t.Fatalf("a deactivated partner's key: %v", err)
		}
		if _, err := s.CreateKey(ctx, hr, pa.ID, "", "new"); problemCode(err) != "partner_deactivated" {
			t.Fatalf("a key for a deactivated partner: %v", err)
		}
		dir, err := st.ActivePerks(ctx)
		storetest.Must(t, err)
		if len(dir) != 0 {
			t.Fatalf("a deactivated partner's perks in the directory: %v", dir)
		}
		// A key written behind the service's back (a race with the
		// deactivation) is refused by the lookup.
		tok, hash, err := auth.NewToken(auth.PrefixDevice)
		storetest.Must(t, err)
		vid := pa.Venues[0].ID
		storetest.Must(t, st.InTx(ctx, func(tx *store.Tx) error {
			return tx.CreateVenueKey(ctx, &model.APIKey{ID: "late-key", Name: "late", Prefix: tok[:10], Hash: hash,
				Role: model.RoleDevice, PartnerID: &pa.ID, VenueID: &vid, CreatedAt: time.Now()}, 100)
		}))
		if _, err := tokens.Bearer(ctx, tok); !errors.Is(err, model.ErrUnauthorized) {
			t.Fatalf("a key of a deactivated partner slipped in: %v", err)
		}
		es, err := st.ListAudit(ctx, store.AuditFilter{TargetID: pa.ID, Action: "partner.update", Limit: 5})
		storetest.Must(t, err)
		if len(es) != 1 || es[0].Before != `{"active":true,"name":"Hotel"}` || es[0].After != `{"active":false,"name":"Hotel Tokyo","revoked_keys":1}` {
			t.Fatalf("audit: %+v", es)
		}
		// Reactivated, it works again with new keys; the old ones stay revoked.
		_, err = s.UpdatePartner(ctx, hr, pa.ID, partners.PartnerPatch{Active: ptr(true)})
		storetest.Must(t, err)
		if _, err := tokens.Bearer(ctx, main.Key); !errors.Is(err, model.ErrUnauthorized) {
			t.Fatalf("an old key came back: %v", err)
		}
		k, err := s.CreateKey(ctx, hr, pa.ID, "", "new desk")
		storetest.Must(t, err)
		if k.VenueID != pa.Venues[0].ID {
			t.Fatalf("a new key went to venue %s, not the open one", k.VenueID)
		}
		if _, err := tokens.Bearer(ctx, k.Key); err != nil {
			t.Fatalf("a new key of the reactivated partner: %v", err)
		}
	})
}

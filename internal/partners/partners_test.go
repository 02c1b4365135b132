package partners_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/partners"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

var hr = &model.Principal{Kind: "token", ID: "hr-test", Name: "HR test", Role: model.RoleHR}

func problemCode(err error) string {
	var p *model.Problem
	if errors.As(err, &p) {
		return p.Code
	}
	return ""
}

// TestPartnersAndPerks: a partner comes with its first venue; names, kinds,
// tiers, days and hours are checked; a partner manager sees only its own
// partner.
func TestPartnersAndPerks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		s := partners.New(st, []byte("pseudonym key for tests, 32 b..."), time.Now, partners.Options{})
		if _, err := s.CreatePartner(ctx, hr, partners.PartnerInput{Name: "", Kind: "restaurant"}); problemCode(err) != "invalid_name" {
			t.Fatalf("no name: %v", err)
		}
		if _, err := s.CreatePartner(ctx, hr, partners.PartnerInput{Name: "x", Kind: "casino"}); err == nil {
			t.Fatal("an unknown kind was accepted")
		}
		p, err := s.CreatePartner(ctx, hr, partners.PartnerInput{Name: "和食 さくら", Kind: "restaurant", VenueName: "銀座店"})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Venues) != 1 || p.Venues[0].Name != "銀座店" {
			t.Fatalf("first venue: %+v", p.Venues)
		}
		other, err := s.CreatePartner(ctx, hr, partners.PartnerInput{Name: "Hotel", Kind: "hotel"})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			in   partners.PerkInput
			fail bool
		}{
			{partners.PerkInput{Title: "10%オフ", EligibleTiers: []string{"*"}, Companions: 3, LimitPerDay: 1}, false},
			{partners.PerkInput{Title: "", EligibleTiers: []string{"*"}}, true},
			{partners.PerkInput{Title: "x", EligibleTiers: []string{"Gold Tier!"}}, true},
			{partners.PerkInput{Title: "x", EligibleTiers: []string{"gold"}, Days: []string{"someday"}}, true},
			{partners.PerkInput{Title: "x", EligibleTiers: []string{"gold"}, Hours: "25:00-26:00"}, true},
			{partners.PerkInput{Title: "x", EligibleTiers: []string{"gold"}, Companions: -1}, true},
			{partners.PerkInput{Title: "ランチ", TitleEn: "Lunch", EligibleTiers: []string{"gold"}, Days: []string{"mon", "fri"}, Hours: "11:00-14:00"}, false},
		} {
			_, err := s.CreatePerk(ctx, hr, p.ID, tc.in)
			if (err != nil) != tc.fail {
				t.Errorf("perk %+v: %v", tc.in, err)
			}
		}
		perks, err := s.Perks(ctx, hr, p.ID)
		if err != nil || len(perks) != 2 {
			t.Fatalf("perks: %d %v", len(perks), err)
		}
		manager := &model.Principal{Kind: "admin", ID: "pm", Role: model.RolePartnerManager, PartnerID: other.ID}
		if _, err := s.Get(ctx, manager, p.ID); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("a partner manager read another partner: %v", err)
		}
		if _, err := s.CreatePerk(ctx, manager, p.ID, partners.PerkInput{Title: "x", EligibleTiers: []string{"*"}}); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("a partner manager made a perk for another partner: %v", err)
		}
		if a, b := s.Pseudonym("member-1", p.ID), s.Pseudonym("member-1", other.ID); a == b || a != s.Pseudonym("member-1", p.ID) {
			t.Fatalf("pseudonyms: %q %q", a, b)
		}
	})
}

// TestDeviceKeys: keys are shown once (only a hash is kept), capped per
// venue however they are made, revocable; a pairing code works once.
func TestDeviceKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		s := partners.New(st, []byte("pseudonym key for tests, 32 b..."), time.Now, partners.Options{MaxKeysPerVenue: 2})
		p, err := s.CreatePartner(ctx, hr, partners.PartnerInput{Name: "店", Kind: "restaurant"})
		if err != nil {
			t.Fatal(err)
		}
		k1, err := s.CreateKey(ctx, hr, p.ID, "", "tablet")
		if err != nil {
			t.Fatal(err)
		}
		if k1.VenueID != p.Venues[0].ID || k1.Key == "" {
			t.Fatalf("key: %+v", k1)
		}
		pairing, err := s.CreatePairing(ctx, hr, p.ID, "", "POS", "https://x")
		if err != nil {
			t.Fatal(err)
		}
		k2, _, err := s.Pair(ctx, pairing.Code)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Pair(ctx, pairing.Code); err == nil {
			t.Fatal("a pairing code worked twice")
		}
		if _, err := s.CreateKey(ctx, hr, p.ID, "", "third"); problemCode(err) != "device_key_limit" {
			t.Fatalf("third key at a cap of 2: %v", err)
		}
		keys, err := s.Keys(ctx, hr, p.ID)
		if err != nil || len(keys) != 2 {
			t.Fatalf("keys: %v %v", keys, err)
		}
		for _, k := range keys {
			if k.Hash == k1.Key || k.Hash == k2.Key || k.Hash == "" {
				t.Fatalf("a key is kept in clear or without its hash: %+v", k)
			}
		}
		if err := s.RevokeKey(ctx, hr, p.ID, k1.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateKey(ctx, hr, p.ID, "", "replacement"); err != nil {
			t.Fatalf("a revoked key still counts against the cap: %v", err)
		}
	})
}

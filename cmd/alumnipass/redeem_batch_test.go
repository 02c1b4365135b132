package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// TestConcurrentRedemptionsShareAStatement: redemptions of a perk without
// limits, made at once by many counters, are written together (the
// partners service's batcher, one statement per batch on PostgreSQL) and
// each keeps its own answer: forty scans redeemed at once are forty rows;
// forty counters redeeming one scan get one 201 and 409 already_redeemed;
// one request retried forty times is one row, replayed to every retry.
func TestConcurrentRedemptionsShareAStatement(t *testing.T) {
	eachDialectSmallPool(t, func(t *testing.T, ts *testServer) {
		f := ts.newFixture("gold")
		perk := ts.must(ts.do("POST", "/api/v1/partners/"+f.PartnerID+"/perks", ts.HRToken, map[string]any{
			"title": "ドリンク一杯", "eligible_tiers": []string{"*"}, "companions": 3}), 201).Str("id")
		base := time.Now().UTC().Truncate(time.Second)
		defer ts.Clock.Set(time.Time{})
		vids := make([]string, 42)
		for i := range vids {
			at := base.Add(time.Duration(i) * 30 * time.Second)
			ts.Clock.Set(at)
			v := ts.verify(f.DeviceKey, f.cardCode(t, at))
			if v.Str("result") != "valid" {
				t.Fatalf("scan %d: %s", i, v.Body)
			}
			vids[i] = v.Str("verification_id")
		}
		redeem := func(vid, key string) answer {
			return post(burstClient, ts.URL+"/api/v1/redemptions", f.DeviceKey,
				map[string]any{"verification_id": vid, "perk_id": perk, "party_size": 2}, "Idempotency-Key", key)
		}
		rows := func(where string, arg string) int {
			var n int
			if err := ts.Store.DB().QueryRow(rebind(ts, "SELECT COUNT(*) FROM redemptions WHERE "+where), arg).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		as := burst(40, func(i int) answer { return redeem(vids[i], uuid.NewString()) })
		for i, a := range as {
			if a.status != 201 || a.str("verification_id") != vids[i] {
				t.Errorf("redemption %d of forty scans: %d %s %v", i, a.status, a.body, a.err)
			}
		}
		if n := rows("perk_id = ?", perk); n != 40 {
			t.Fatalf("%d rows for forty redemptions", n)
		}

		as = burst(40, func(int) answer { return redeem(vids[40], uuid.NewString()) })
		won := 0
		for _, a := range as {
			switch {
			case a.status == 201:
				won++
			case a.status == 409 && a.code() == "already_redeemed":
			default:
				t.Errorf("one scan, forty counters: %d %s %v", a.status, a.body, a.err)
			}
		}
		if won != 1 || rows("verification_id = ?", vids[40]) != 1 {
			t.Fatalf("one scan redeemed %d times (%d rows): %v", won, rows("verification_id = ?", vids[40]), tally(as))
		}

		key := uuid.NewString()
		as = burst(40, func(int) answer { return redeem(vids[41], key) })
		created, ids := replays(t, "one request retried", as)
		if created != 1 || len(ids) != 1 || rows("verification_id = ?", vids[41]) != 1 {
			t.Fatalf("one request retried forty times: %d created, ids %v: %v", created, ids, tally(as))
		}
	})
}

// TestInsertRedemptionsGivesEachRowItsAnswer: a batch of three rows, one
// that can be written, one that repeats its (verification, perk), one of a
// member revoked since the scan: the first is written and the others get
// the one-row statement's exact errors (ErrConflict, ErrStandingChanged),
// on both databases.
func TestInsertRedemptionsGivesEachRowItsAnswer(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		f, g := ts.newFixture("gold"), ts.newFixture("gold")
		vf := ts.verify(f.DeviceKey, f.cardCode(t, time.Now())).Str("verification_id")
		vg := ts.verify(g.DeviceKey, g.cardCode(t, time.Now())).Str("verification_id")
		ts.must(ts.do("POST", "/api/v1/members/"+g.MemberID+"/revoke", ts.HRToken, map[string]string{"reason": "left"}), 200)
		row := func(fx *fixture, vid string) store.RedemptionInsert {
			card := fx.CardID
			perk, err := ts.Store.Perk(context.Background(), fx.PerkID)
			if err != nil {
				t.Fatal(err)
			}
			return store.RedemptionInsert{S: store.Standing{CardID: fx.CardID, Tier: "gold", Perk: perk}, R: &model.Redemption{ID: uuid.NewString(), VerificationID: vid,
				IdempotencyKey: uuid.NewString(), APIKeyID: "batch-test", PerkID: fx.PerkID, PartnerID: fx.PartnerID,
				VenueID: fx.VenueID, MemberID: fx.MemberID, CardID: &card, PartySize: 1, At: time.Now()}}
		}
		// A row PostgreSQL cannot store at all (a NUL in its text) refuses
		// the whole statement; its neighbours must still get their answers.
		// SQLite stores the NUL, so there the row meets the first one's
		// verification and perk.
		bad := row(f, vf)
		bad.R.IdempotencyKey = "nul\x00key"
		batch := []store.RedemptionInsert{row(f, vf), row(f, vf), row(g, vg), bad}
		errs, err := ts.Store.InsertRedemptionsIfStanding(context.Background(), batch)
		if err != nil {
			t.Fatal(err)
		}
		if errs[0] != nil || !errors.Is(errs[1], model.ErrConflict) || !errors.Is(errs[2], store.ErrStandingChanged) {
			t.Fatalf("answers %v, want nil, ErrConflict, ErrStandingChanged", errs)
		}
		want := model.ErrInvalid
		if ts.Store.Dialect() == store.SQLite {
			want = model.ErrConflict
		}
		if !errors.Is(errs[3], want) {
			t.Fatalf("the row with a NUL: %v, want %v", errs[3], want)
		}

		// Rows granted on what is no longer so — the member's tier, the
		// perk's rules — are refused by the batch statement itself (their
		// verifications are new, so nothing else stops them).
		lowTier, oldRules := row(f, uuid.NewString()), row(f, uuid.NewString())
		lowTier.S.Tier = "silver"
		rules := *oldRules.S.Perk
		rules.Companions++
		oldRules.S.Perk = &rules
		errs, err = ts.Store.InsertRedemptionsIfStanding(context.Background(), []store.RedemptionInsert{row(f, uuid.NewString()), lowTier, oldRules})
		if err != nil {
			t.Fatal(err)
		}
		if errs[0] != nil || !errors.Is(errs[1], store.ErrStandingChanged) || !errors.Is(errs[2], store.ErrStandingChanged) {
			t.Fatalf("answers %v, want nil, ErrStandingChanged (tier), ErrStandingChanged (perk rules)", errs)
		}
		var n int
		if err := ts.Store.DB().QueryRow(rebind(ts, "SELECT COUNT(*) FROM redemptions WHERE api_key_id = ?"), "batch-test").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Fatalf("%d rows written, want 2", n)
		}
	})
}

package wallet_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/credential"
	"github.com/alumnipass/alumnipass/internal/keyring"
	"github.com/alumnipass/alumnipass/internal/members"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/seal"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
	"github.com/alumnipass/alumnipass/internal/wallet"
)

var hr = &model.Principal{Kind: "token", ID: "hr-test", Name: "HR test", Role: model.RoleHR}

type rig struct {
	st      *store.Store
	members *members.Service
	wallet  *wallet.Service
	now     time.Time
}

func newRig(t *testing.T, st *store.Store, quota int) *rig {
	t.Helper()
	sealer, err := seal.New([]byte(strings.Repeat("w", 32)))
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{st: st, now: time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return r.now }
	keys, err := keyring.New(context.Background(), st, sealer, clock)
	if err != nil {
		t.Fatal(err)
	}
	r.members = members.New(st, keys, sealer, clock, members.Options{BaseURL: "https://x", CardValidity: 365 * 24 * time.Hour, EnrollValidity: time.Hour})
	r.wallet = wallet.New(st, keys, sealer, clock, wallet.Options{BaseURL: "https://x", GuestQuota: quota, ConsentVersion: "2026-11"})
	return r
}

// issued makes a member with an issued card and returns the enrolment token.
func (r *rig) issued(t *testing.T, no string) (memberID, token string) {
	t.Helper()
	m, err := r.members.Create(context.Background(), hr, members.Input{EmployeeNo: no, FamilyName: "山田", GivenName: "花子",
		Email: no + "@example.com", Tier: "gold", DepartedOn: "2024-03-31"})
	if err != nil {
		t.Fatal(err)
	}
	ic, err := r.members.IssueCard(context.Background(), hr, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	return m.ID, ic.EnrollmentToken
}

// enrolled makes a member whose card is enrolled in a wallet, and opens it.
func (r *rig) enrolled(t *testing.T, no string) (memberID string, w *wallet.Wallet) {
	t.Helper()
	ctx := context.Background()
	memberID, token := r.issued(t, no)
	e, err := r.wallet.Enroll(ctx, token, true)
	if err != nil {
		t.Fatal(err)
	}
	if w, err = r.wallet.Open(ctx, e.WalletToken); err != nil {
		t.Fatal(err)
	}
	return memberID, w
}

func problemCode(err error) string {
	var p *model.Problem
	if errors.As(err, &p) {
		return p.Code
	}
	return ""
}

// TestEnrolOnce: enrolment needs consent, works once, and the wallet it
// opens computes codes of its own card; a re-issue ends that wallet.
func TestEnrolOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		r := newRig(t, st, 10)
		memberID, token := r.issued(t, "W1")
		if _, err := r.wallet.Enroll(ctx, token, false); problemCode(err) != "consent_required" {
			t.Fatalf("without consent: %v", err)
		}
		e, err := r.wallet.Enroll(ctx, token, true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.wallet.Enroll(ctx, token, true); err == nil {
			t.Fatal("an enrolment link worked twice")
		}
		w, err := r.wallet.Open(ctx, e.WalletToken)
		if err != nil {
			t.Fatal(err)
		}
		code, err := r.wallet.CurrentCode(w)
		if err != nil {
			t.Fatal(err)
		}
		if want := credential.CardCode(e.SignedPart, credential.TOTP(w.Secret, r.now)); code.Code != want {
			t.Fatalf("code %q, want %q", code.Code, want)
		}
		if _, err := r.wallet.Open(ctx, e.WalletToken+"x"); !errors.Is(err, model.ErrUnauthorized) {
			t.Fatalf("a wrong wallet token: %v", err)
		}
		if _, err := r.members.IssueCard(ctx, hr, memberID); err != nil {
			t.Fatal(err)
		}
		old, err := r.wallet.Open(ctx, e.WalletToken)
		if err == nil {
			_, err = r.wallet.CurrentCode(old)
		}
		if err == nil {
			t.Fatal("the wallet of a replaced card still computes codes")
		}
	})
}

// TestGuestPasses: the window, party size and monthly quota rules; a
// cancelled pass is no longer active; a suspended member makes none.
func TestGuestPasses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		r := newRig(t, st, 2)
		memberID, w := r.enrolled(t, "G1")
		tomorrow := r.now.Add(24 * time.Hour)
		for _, tc := range []struct {
			in   wallet.GuestPassInput
			code string
		}{
			{wallet.GuestPassInput{PartySize: 0, ValidUntil: tomorrow}, "invalid_party_size"},
			{wallet.GuestPassInput{PartySize: 9, ValidUntil: tomorrow}, "invalid_party_size"},
			{wallet.GuestPassInput{PartySize: 2}, "valid_until_required"},
			{wallet.GuestPassInput{PartySize: 2, ValidUntil: r.now.Add(-time.Hour)}, "invalid_window"},
			{wallet.GuestPassInput{PartySize: 2, ValidUntil: r.now.Add(40 * 24 * time.Hour)}, "window_too_long"},
			{wallet.GuestPassInput{PartySize: 2, ValidUntil: tomorrow, MaxUses: 11}, "invalid_max_uses"},
		} {
			if _, err := r.wallet.CreateGuestPass(ctx, w, tc.in); problemCode(err) != tc.code {
				t.Errorf("%+v: %v, want %s", tc.in, err, tc.code)
			}
		}
		first, err := r.wallet.CreateGuestPass(ctx, w, wallet.GuestPassInput{PartySize: 3, ValidUntil: tomorrow})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(first.Code, credential.Prefix+"G") || first.ShareURL != "https://x/g/"+first.ID {
			t.Fatalf("pass: %+v", first)
		}
		if _, err := r.wallet.CreateGuestPass(ctx, w, wallet.GuestPassInput{PartySize: 1, ValidUntil: tomorrow}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.wallet.CreateGuestPass(ctx, w, wallet.GuestPassInput{PartySize: 1, ValidUntil: tomorrow}); problemCode(err) != "guest_quota_exceeded" {
			t.Fatalf("over the quota of 2: %v", err)
		}
		if err := r.wallet.CancelGuestPass(ctx, w, first.ID); err != nil {
			t.Fatal(err)
		}
		if err := r.wallet.CancelGuestPass(ctx, w, first.ID); problemCode(err) != "guest_pass_not_cancellable" {
			t.Fatalf("cancelled twice: %v", err)
		}
		g, _, err := r.wallet.GuestPass(ctx, first.ID)
		if err != nil || g.Status != "cancelled" {
			t.Fatalf("after cancel: %+v %v", g, err)
		}
		if _, err := r.members.ChangeStatus(ctx, hr, memberID, members.ActionSuspend, "review"); err != nil {
			t.Fatal(err)
		}
		r.now = r.now.AddDate(0, 1, 0) // a new month: the quota would allow it
		if _, err := r.wallet.CreateGuestPass(ctx, w, wallet.GuestPassInput{PartySize: 1, ValidUntil: r.now.Add(time.Hour)}); problemCode(err) != "member_suspended" {
			t.Fatalf("a suspended member's pass: %v", err)
		}
	})
}

// TestRecordClock: a wallet's clock offset is kept for its card; an absurd
// one (more than a week) is not.
func TestRecordClock(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		r := newRig(t, st, 10)
		_, w := r.enrolled(t, "K1")
		if err := r.wallet.RecordClock(ctx, w, 20*60*1000); err != nil {
			t.Fatal(err)
		}
		if err := r.wallet.RecordClock(ctx, w, 8*24*3600*1000); err != nil {
			t.Fatal(err)
		}
		known, err := st.SeeStaleOffset(ctx, w.Card.ID, -1200, r.now)
		if err != nil {
			t.Fatal(err)
		}
		if known.ReportedMS == nil || *known.ReportedMS != 20*60*1000 {
			t.Fatalf("reported offset: %v", known.ReportedMS)
		}
	})
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/members"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/partners"
)

// The demo's console users. The partner manager manages the restaurant.
const (
	demoAdminEmail   = "admin@example.com"
	demoPartnerEmail = "partner@example.com"
)

// seedDemo fills an empty database with a demo: an HR admin, a partner
// manager, a restaurant and a hotel with perks, a few members and an
// enrolment link, and prints what to open. When any console user exists it
// creates nothing; if the demo is there it prints how to sign in again.
func seedDemo(ctx context.Context, a *application, out io.Writer) error {
	n, err := a.st.CountAdmins(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return demoAgain(ctx, a, out)
	}
	sys := &model.Principal{Kind: "system", ID: "seed", Name: "demo seed", Role: model.RoleAdmin}
	pw, _, err := auth.NewToken("")
	if err != nil {
		return err
	}
	pw = pw[:16]
	if _, err := a.svc.Console.CreateAdmin(ctx, demoAdminEmail, "人事 管理者", pw, model.RoleAdmin, "", "ja"); err != nil {
		return err
	}
	resto, err := a.svc.Partners.CreatePartner(ctx, sys, partners.PartnerInput{Name: "レストラン さくら", Kind: "restaurant", VenueName: "さくら 丸の内店"})
	if err != nil {
		return err
	}
	hotel, err := a.svc.Partners.CreatePartner(ctx, sys, partners.PartnerInput{Name: "Hotel Aoba", Kind: "hotel", VenueName: "Hotel Aoba Sendai"})
	if err != nil {
		return err
	}
	perks := []struct {
		partner string
		in      partners.PerkInput
	}{
		{resto.ID, partners.PerkInput{Title: "お食事 10% オフ", Description: "同伴者3名まで", EligibleTiers: []string{"*"}, Companions: 3, LimitPerDay: 1}},
		{resto.ID, partners.PerkInput{Title: "ウェルカムドリンク", Description: "ゴールド会員", EligibleTiers: []string{"gold"}, Companions: 1, LimitPerDay: 1}},
		{hotel.ID, partners.PerkInput{Title: "Alumni room rate −20%", Description: "Up to 1 companion", EligibleTiers: []string{"standard", "gold"}, Companions: 1, LimitPerMonth: 4}},
	}
	partnerPW, _, err := auth.NewToken("")
	if err != nil {
		return err
	}
	partnerPW = partnerPW[:16]
	if _, err := a.svc.Console.CreateAdmin(ctx, demoPartnerEmail, "さくら 店長", partnerPW, model.RolePartnerManager, resto.ID, "ja"); err != nil {
		return err
	}
	for _, p := range perks {
		if _, err := a.svc.Partners.CreatePerk(ctx, sys, p.partner, p.in); err != nil {
			return err
		}
	}
	people := []members.Input{
		{EmployeeNo: "E1001", FamilyName: "山田", GivenName: "太郎", FamilyNameKana: "ヤマダ", GivenNameKana: "タロウ", Email: "taro.yamada@example.com", Tier: "gold", DepartedOn: "2024-03-31", Locale: "ja"},
		{EmployeeNo: "E1002", FamilyName: "髙橋", GivenName: "花子", FamilyNameKana: "タカハシ", GivenNameKana: "ハナコ", Email: "hanako.takahashi@example.com", Tier: "standard", DepartedOn: "2025-09-30", Locale: "ja"},
		{EmployeeNo: "E1003", FamilyName: "Smith", GivenName: "Alex", Email: "alex.smith@example.com", Tier: "standard", DepartedOn: "2023-12-31", Locale: "en"},
		{EmployeeNo: "E1004", FamilyName: "山﨑", GivenName: "健", FamilyNameKana: "ヤマザキ", GivenNameKana: "ケン", Email: "ken.yamazaki@example.com", Tier: "gold", DepartedOn: "2022-06-30", Locale: "ja"},
	}
	var enrol *members.IssuedCard
	for i, in := range people {
		m, err := a.svc.Members.Create(ctx, sys, in)
		if err != nil {
			return err
		}
		if i == 0 {
			if enrol, err = a.svc.Members.IssueCard(ctx, sys, m.ID); err != nil {
				return err
			}
		}
	}
	pair, err := a.svc.Partners.CreatePairing(ctx, sys, resto.ID, "", "demo tablet", a.cfg.BaseURL)
	if err != nil {
		return err
	}
	hr, err := a.svc.Auth.CreateHRToken(ctx, "demo HR automation", model.RoleHR)
	if err != nil {
		return err
	}
	if err := markDemo(a.cfg); err != nil {
		return err
	}
	b := a.cfg.BaseURL
	fmt.Fprintf(out, `
================ alumnipass demo ================
HR console      %s/admin
  sign in       %s / %s  (you will set up two-factor sign-in on first use)
Partner console %s/partner  (the restaurant's manager: venues, perks, devices, report)
  sign in       %s / %s  (in another browser or a private window)
Wallet          open this enrolment link on a phone (single use, expires %s):
                %s
Scanner         %s/scan  — pair with code %s (valid 15 minutes;
                a new code: HR console → 提携先 (Partners) → レストラン さくら
                → ペアリングコードを作成 (Make a pairing code))
HR API token    %s
Health          %s/readyz   metrics %s/metrics
Write these down: passwords and codes are shown only now.
=================================================
`, b, demoAdminEmail, pw, b, demoPartnerEmail, partnerPW, enrol.ExpiresAt.Format(time.DateOnly), enrol.EnrollmentURL,
		b, pair.Code, hr, b, b)
	return nil
}

// demoAgain is what a second `make run` prints: the demo is already there,
// how to sign in again, and how to start it afresh when the password or
// the authenticator is lost. It prints nothing on a database the demo did
// not make.
func demoAgain(ctx context.Context, a *application, out io.Writer) error {
	if _, err := a.st.AdminByEmail(ctx, demoAdminEmail); errors.Is(err, model.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	b := a.cfg.BaseURL
	reset := "make reset-demo   (alumnipass serve --seed --reset: deletes the demo database in " + a.cfg.DataDir + ")"
	if a.cfg.DatabaseURL != "" {
		reset = "drop and re-create the PostgreSQL database, then start with --seed again"
	}
	fmt.Fprintf(out, `
================ alumnipass demo ================
The demo data is already there; nothing new was created.
HR console      %s/admin     sign in as %s
Partner console %s/partner   sign in as %s
                with the passwords printed on the first start (they are stored only hashed).
Scanner         %s/scan — a new pairing code: HR console → 提携先 (Partners)
                → レストラン さくら → ペアリングコードを作成 (Make a pairing code)
Lost the password or the authenticator app? Start the demo afresh:
                %s
=================================================
`, b, demoAdminEmail, b, demoPartnerEmail, b, reset)
	return nil
}

package auth

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// addUser stores a console user without bcrypt (slow under -race).
func addUser(t *testing.T, st *store.Store, email, role string) *model.Admin {
	t.Helper()
	a := &model.Admin{ID: uuid.NewString(), Email: email, Name: email, PasswordHash: "-", Role: role, Locale: "ja", TOTPEnabled: true}
	storetest.Must(t, st.CreateAdmin(context.Background(), a))
	return a
}

func problemCode(err error) string {
	var p *model.Problem
	if errors.As(err, &p) {
		return p.Code
	}
	return ""
}

func ptrTo[T any](v T) *T { return &v }

// TestUpdateAdmin: an admin changes a user's role (audited before and
// after; it applies to the user's next request) and disables them (their
// sessions end at once); the last active admin can be neither demoted nor
// disabled; only an admin may do any of it.
func TestUpdateAdmin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		c, _ := newTestConsole(t, st)
		root := addUser(t, st, "root@example.jp", model.RoleAdmin)
		hrUser := addUser(t, st, "hr@example.jp", model.RoleHR)
		p := &model.Principal{Kind: "admin", ID: root.ID, Name: root.Email, Role: model.RoleAdmin}
		_, cookie := signedInCookie(t, c, hrUser.Email, "")

		a, err := c.UpdateAdmin(ctx, p, hrUser.ID, AdminPatch{Role: ptrTo(model.RoleViewer)})
		storetest.Must(t, err)
		if a.Role != model.RoleViewer || reload(t, c, cookie).Principal("").Role != model.RoleViewer {
			t.Fatalf("role change not applied: %+v", a)
		}
		es, err := st.ListAudit(ctx, store.AuditFilter{TargetID: hrUser.ID, Action: "admin.update", Limit: 5})
		storetest.Must(t, err)
		if len(es) != 1 || es[0].Before != `{"active":true,"partner_id":"","role":"hr"}` || es[0].After != `{"active":true,"partner_id":"","role":"viewer"}` {
			t.Fatalf("audit: %+v", es)
		}
		if _, err := c.UpdateAdmin(ctx, p, hrUser.ID, AdminPatch{Active: ptrTo(false)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Session(ctx, cookie); !errors.Is(err, model.ErrUnauthorized) {
			t.Fatalf("a disabled user's session: %v", err)
		}
		if _, err := c.UpdateAdmin(ctx, p, root.ID, AdminPatch{Role: ptrTo(model.RoleHR)}); problemCode(err) != "last_admin" {
			t.Fatalf("demoting the last admin: %v", err)
		}
		if _, err := c.UpdateAdmin(ctx, p, root.ID, AdminPatch{Active: ptrTo(false)}); problemCode(err) != "last_admin" {
			t.Fatalf("disabling the last admin: %v", err)
		}
		if _, err := c.UpdateAdmin(ctx, p, hrUser.ID, AdminPatch{Role: ptrTo(model.RolePartnerManager)}); problemCode(err) != "partner_required" {
			t.Fatalf("a partner manager without a partner: %v", err)
		}
		if _, err := c.UpdateAdmin(ctx, p, hrUser.ID, AdminPatch{Role: ptrTo("owner")}); problemCode(err) != "invalid_role" {
			t.Fatalf("an unknown role: %v", err)
		}
		hr := &model.Principal{Kind: "admin", ID: hrUser.ID, Role: model.RoleHR}
		if _, err := c.UpdateAdmin(ctx, hr, root.ID, AdminPatch{Active: ptrTo(false)}); !errors.Is(err, model.ErrForbidden) {
			t.Fatalf("an HR user changing an admin: %v", err)
		}
		if err := c.ResetSecondFactor(ctx, hr, root.ID); !errors.Is(err, model.ErrForbidden) {
			t.Fatalf("an HR user resetting a second factor: %v", err)
		}
		if _, err := c.UpdateAdmin(ctx, p, uuid.NewString(), AdminPatch{Active: ptrTo(false)}); problemCode(err) != "admin_not_found" {
			t.Fatalf("an unknown user: %v", err)
		}
	})
}

// TestLastAdminRace: two admins disabling each other at once — exactly
// one succeeds, so an admin always remains.
func TestLastAdminRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		c, _ := newTestConsole(t, st)
		for round := 0; round < 5; round++ {
			a := addUser(t, st, uuid.NewString()+"@example.jp", model.RoleAdmin)
			b := addUser(t, st, uuid.NewString()+"@example.jp", model.RoleAdmin)
			// Only a and b are active admins in this round.
			others, err := st.ListAdmins(ctx)
			storetest.Must(t, err)
			root := &model.Principal{Kind: "admin", ID: a.ID, Role: model.RoleAdmin}
			for _, o := range others {
				if o.ID != a.ID && o.ID != b.ID && o.Role == model.RoleAdmin && o.DisabledAt == nil {
					_, err := c.UpdateAdmin(ctx, root, o.ID, AdminPatch{Active: ptrTo(false)})
					storetest.Must(t, err)
				}
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, pair := range [][2]*model.Admin{{a, b}, {b, a}} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					p := &model.Principal{Kind: "admin", ID: pair[0].ID, Role: model.RoleAdmin}
					_, errs[i] = c.UpdateAdmin(ctx, p, pair[1].ID, AdminPatch{Active: ptrTo(false)})
				}()
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case problemCode(err) != "last_admin":
					t.Fatalf("round %d: %v", round, err)
				}
			}
			if ok != 1 {
				t.Fatalf("round %d: %d of 2 succeeded: %v", round, ok, errs)
			}
		}
	})
}

// TestResetCredentials: a reset password or second factor ends the
// user's sessions and is audited; the user must set up a new second factor.
func TestResetCredentials(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		c, _ := newTestConsole(t, st)
		root := addUser(t, st, "root@example.jp", model.RoleAdmin)
		u := addUser(t, st, "hr@example.jp", model.RoleHR)
		p := &model.Principal{Kind: "admin", ID: root.ID, Role: model.RoleAdmin}
		_, cookie := signedInCookie(t, c, u.Email, "")
		storetest.Must(t, c.ResetSecondFactor(ctx, p, u.ID))
		if _, err := c.Session(ctx, cookie); !errors.Is(err, model.ErrUnauthorized) {
			t.Fatalf("a session after the reset: %v", err)
		}
		got, err := st.Admin(ctx, u.ID)
		storetest.Must(t, err)
		if got.TOTPEnabled || got.TOTPSecretEnc != nil {
			t.Fatalf("second factor left: %+v", got)
		}
		if err := c.ResetPassword(ctx, p, u.ID, "short"); problemCode(err) != "weak_password" {
			t.Fatalf("a weak password: %v", err)
		}
		_, cookie = signedInCookie(t, c, u.Email, "")
		storetest.Must(t, c.ResetPassword(ctx, p, u.ID, testPassword))
		if _, err := c.Session(ctx, cookie); !errors.Is(err, model.ErrUnauthorized) {
			t.Fatalf("a session after the password reset: %v", err)
		}
		es, err := st.ListAudit(ctx, store.AuditFilter{TargetID: u.ID, Limit: 5})
		storetest.Must(t, err)
		if len(es) != 2 || es[0].Action != "admin.reset_password" || es[1].Action != "admin.reset_totp" {
			t.Fatalf("audit: %+v", es)
		}
	})
}

// TestDeactivatedPartnerManager: the console sessions of a deactivated
// partner's managers end with it.
func TestDeactivatedPartnerManager(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		c, clk := newTestConsole(t, st)
		pa := &model.Partner{ID: uuid.NewString(), Name: "Hotel", Kind: "hotel", CreatedAt: clk.Now()}
		storetest.Must(t, st.CreatePartner(ctx, pa))
		m := &model.Admin{ID: uuid.NewString(), Email: "mgr@example.jp", Name: "mgr", PasswordHash: "-", Role: model.RolePartnerManager,
			PartnerID: &pa.ID, Locale: "ja", TOTPEnabled: true}
		storetest.Must(t, st.CreateAdmin(ctx, m))
		_, cookie := signedInCookie(t, c, m.Email, "")
		_, err := st.SetPartnerActive(ctx, pa.ID, false, clk.Now())
		storetest.Must(t, err)
		if _, err := c.Session(ctx, cookie); !errors.Is(err, model.ErrUnauthorized) {
			t.Fatalf("a deactivated partner's manager: %v", err)
		}
	})
}

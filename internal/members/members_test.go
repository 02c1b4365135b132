package members_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/keyring"
	"github.com/alumnipass/alumnipass/internal/members"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/seal"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

var hr = &model.Principal{Kind: "token", ID: "hr-test", Name: "HR test", Role: model.RoleHR}

func service(t *testing.T, st *store.Store) *members.Service {
	t.Helper()
	sealer, err := seal.New([]byte(strings.Repeat("m", 32)))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := keyring.New(context.Background(), st, sealer, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return members.New(st, keys, sealer, time.Now, members.Options{BaseURL: "https://alumni.example.jp",
		CardValidity: 365 * 24 * time.Hour, EnrollValidity: 24 * time.Hour})
}

func input(no string) members.Input {
	return members.Input{EmployeeNo: no, FamilyName: " 山田 ", GivenName: "太郎", FamilyNameKana: "やまだ",
		Email: "Taro@Example.JP", Tier: "Gold", DepartedOn: "2024-03-31", Locale: "ja-JP"}
}

func audit(t *testing.T, st *store.Store, target string) []model.AuditEntry {
	t.Helper()
	es, err := st.ListAudit(context.Background(), store.AuditFilter{TargetID: target, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// TestCreate: a member is stored normalised (names trimmed, kana in
// katakana, the e-mail's domain and the tier lower-cased, the language
// understood), audited, and a second one with the same employee number is
// a conflict that writes nothing.
func TestCreate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		s := service(t, st)
		m, err := s.Create(ctx, hr, input("E001"))
		if err != nil {
			t.Fatal(err)
		}
		if m.FamilyName != "山田" || m.FamilyNameKana != "ヤマダ" || m.Email != "Taro@example.jp" || m.Tier != "gold" ||
			m.Locale != "ja" || m.Status != model.MemberActive {
			t.Fatalf("stored as %+v", m)
		}
		if es := audit(t, st, m.ID); len(es) != 1 || es[0].Action != "member.create" || es[0].ActorID != hr.ID {
			t.Fatalf("audit: %+v", es)
		}
		_, err = s.Create(ctx, hr, input("E001"))
		if !errors.Is(err, model.ErrConflict) {
			t.Fatalf("duplicate employee number: %v", err)
		}
		bad := input("E002")
		bad.Locale = "fr"
		var p *model.Problem
		if _, err := s.Create(ctx, hr, bad); !errors.As(err, &p) || p.Code != "invalid_locale" {
			t.Fatalf("locale fr: %v", err)
		}
		if n, _ := s.Counts(ctx); n["active"] != 1 {
			t.Fatalf("counts after refusals: %v", n)
		}
	})
}

// TestStatusChanges: revoke, suspend and reinstate are audited with the
// status they replaced; revoking revokes the card; a member already in the
// target state is refused with a code saying so.
func TestStatusChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		s := service(t, st)
		m, err := s.Create(ctx, hr, input("S001"))
		if err != nil {
			t.Fatal(err)
		}
		card, err := s.IssueCard(ctx, hr, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ChangeStatus(ctx, hr, m.ID, members.ActionSuspend, "review"); err != nil {
			t.Fatal(err)
		}
		var p *model.Problem
		if _, err := s.ChangeStatus(ctx, hr, m.ID, members.ActionSuspend, "again"); !errors.As(err, &p) || !errors.Is(err, model.ErrConflict) {
			t.Fatalf("second suspend: %v", err)
		}
		if _, err := s.ChangeStatus(ctx, hr, m.ID, members.ActionReinstate, "ok"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ChangeStatus(ctx, hr, m.ID, members.ActionRevoke, ""); err == nil {
			t.Fatal("a revocation without a reason was accepted")
		}
		got, err := s.ChangeStatus(ctx, hr, m.ID, members.ActionRevoke, "left the programme")
		if err != nil || got.Status != model.MemberRevoked {
			t.Fatalf("revoke: %+v %v", got, err)
		}
		d, err := s.Get(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range d.Cards {
			if c.ID == card.CardID && c.Status != model.CardRevoked {
				t.Fatalf("the card outlived the revocation: %s", c.Status)
			}
		}
		var before []string
		for _, e := range audit(t, st, m.ID) {
			if strings.HasPrefix(e.Action, "member.") && e.Action != "member.create" {
				before = append(before, e.Action+":"+e.Before)
			}
		}
		if len(before) != 3 {
			t.Fatalf("status audit entries: %v", before)
		}
		for _, b := range before {
			switch {
			case strings.HasPrefix(b, "member.suspend") && !strings.Contains(b, `"active"`),
				strings.HasPrefix(b, "member.reinstate") && !strings.Contains(b, `"suspended"`),
				strings.HasPrefix(b, "member.revoke") && !strings.Contains(b, `"active"`):
				t.Errorf("audit before-image does not name the replaced status: %s", b)
			}
		}
	})
}

// TestIssueCard: issuing again revokes the previous card and says so; the
// enrolment link carries the token that finds the new card.
func TestIssueCard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		s := service(t, st)
		m, err := s.Create(ctx, hr, input("C001"))
		if err != nil {
			t.Fatal(err)
		}
		first, err := s.IssueCard(ctx, hr, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(first.EnrollmentURL, "https://alumni.example.jp/w/enroll/") || !strings.HasSuffix(first.EnrollmentURL, first.EnrollmentToken) {
			t.Fatalf("enrolment URL %q", first.EnrollmentURL)
		}
		second, err := s.IssueCard(ctx, hr, m.ID)
		if err != nil || second.Replaced != first.CardID {
			t.Fatalf("re-issue: %+v %v", second, err)
		}
		d, err := s.Get(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		active := 0
		for _, c := range d.Cards {
			if c.Status == model.CardActive {
				active++
				if c.ID != second.CardID {
					t.Fatalf("the active card is %s, not the new one", c.ID)
				}
			}
		}
		if active != 1 {
			t.Fatalf("%d active cards", active)
		}
		if _, _, err := s.PendingEnrollment(ctx, m.ID, first.EnrollmentToken); err == nil {
			t.Fatal("the replaced card's enrolment token still counts as pending")
		}
		if _, _, err := s.PendingEnrollment(ctx, m.ID, second.EnrollmentToken); err != nil {
			t.Fatalf("the new card's token: %v", err)
		}
	})
}

// TestImport: a dry run writes nothing; the import creates and then
// updates by employee number; a file with a problem writes nothing.
func TestImport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		s := service(t, st)
		csv := []byte("社員番号,姓,名,メールアドレス,区分,退職日\nI1,鈴木,一郎,ichiro@example.com,standard,2024-03-31\nI2,田中,花子,hanako@example.com,gold,2024/4/30\n")
		rep, err := s.Import(ctx, hr, csv, "", true)
		if err != nil || rep.Created != 2 || rep.Applied {
			t.Fatalf("dry run: %+v %v", rep, err)
		}
		if n, _ := s.Counts(ctx); n["active"] != 0 {
			t.Fatalf("the dry run wrote %v", n)
		}
		if rep, err = s.Import(ctx, hr, csv, "", false); err != nil || rep.Created != 2 || !rep.Applied {
			t.Fatalf("import: %+v %v", rep, err)
		}
		changed := []byte(strings.Replace(string(csv), "standard", "gold", 1))
		if rep, err = s.Import(ctx, hr, changed, "", false); err != nil || rep.Updated != 1 || rep.Unchanged != 1 {
			t.Fatalf("re-import: %+v %v", rep, err)
		}
		bad := append(changed, []byte("I3,佐藤,,sato@example.com,standard,2024-03-31\n")...)
		if rep, _ = s.Import(ctx, hr, bad, "", false); rep == nil || len(rep.Problems) != 1 || rep.Problems[0].Line != 4 || rep.Applied {
			t.Fatalf("a file with a problem: %+v", rep)
		}
		if n, _ := s.Counts(ctx); n["active"] != 2 {
			t.Fatalf("members after a refused file: %v", n)
		}
	})
}

// TestKeptUploads: a previewed file is found by its hash by the admin who
// uploaded it only, and not after it is dropped.
func TestKeptUploads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		s := service(t, st)
		data := []byte("employee_no\n1\n")
		hash, err := s.KeepUpload(ctx, hr, data)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.KeptUpload(ctx, hr, hash); err != nil || string(got) != string(data) {
			t.Fatalf("kept: %q %v", got, err)
		}
		other := &model.Principal{Kind: "admin", ID: "someone-else", Role: model.RoleHR}
		if _, err := s.KeptUpload(ctx, other, hash); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("another admin's upload: %v", err)
		}
		if err := s.DropUpload(ctx, hr, hash); err != nil {
			t.Fatal(err)
		}
		if _, err := s.KeptUpload(ctx, hr, hash); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("after drop: %v", err)
		}
	})
}

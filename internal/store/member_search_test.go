package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

func person(no, family, given, familyKana, givenKana string) model.Member {
	now := time.Now().UTC()
	return model.Member{ID: uuid.NewString(), EmployeeNo: no, FamilyName: family, GivenName: given,
		FamilyNameKana: familyKana, GivenNameKana: givenKana, Email: no + "@example.com", Tier: "standard",
		DepartedOn: "2024-03-31", Locale: "ja", Status: model.MemberActive, CreatedAt: now, UpdatedAt: now}
}

// searchNos returns the employee numbers a search finds.
func searchNos(t *testing.T, s *store.Store, q string) map[string]bool {
	t.Helper()
	ms, err := s.ListMembers(context.Background(), store.MemberFilter{Query: q, Limit: 50})
	storetest.Must(t, err)
	out := map[string]bool{}
	for _, m := range ms {
		out[m.EmployeeNo] = true
	}
	return out
}

// HR types 高橋 for 髙橋, たかはし or ﾀｶﾊｼ for タカハシ, ＡＢＣ１２３ for abc123:
// each finds the member however the name was written, on either write path
// (one member, or an import's upsert), and the stored names stay as HR wrote
// them.
func TestMemberSearchFoldsWhatHRTypes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		takahashi := person("E1", "髙橋", "花子", "タカハシ", "ハナコ")
		storetest.Must(t, s.CreateMember(ctx, &takahashi))
		saito := person("E2", "齋藤", "健", "サイトウ", "ケン")
		yamazaki := person("abc123", "山﨑", "太郎", "", "")
		watanabe := person("E4", "渡邉", "Alex", "", "")
		storetest.Must(t, s.UpsertMembers(ctx, []model.Member{saito, yamazaki, watanabe}))
		other := person("E5", "佐藤", "一郎", "サトウ", "イチロウ")
		storetest.Must(t, s.CreateMember(ctx, &other))

		for q, want := range map[string]string{
			"高橋": "E1", "たかはし": "E1", "ﾀｶﾊｼ": "E1", "タカハシ": "E1", "高橋 花子": "E1", "髙橋　花子": "E1",
			"斎藤": "E2", "さいとう": "E2",
			"ＡＢＣ１２３": "abc123", "ABC123": "abc123", "山崎": "abc123", "山﨑太郎": "abc123",
			"渡辺": "E4", "渡邊": "E4", "alex 渡辺": "E4",
		} {
			got := searchNos(t, s, q)
			if len(got) != 1 || !got[want] {
				t.Errorf("search %q found %v, want only %s", q, got, want)
			}
		}
		for _, q := range []string{"高槻", "%", "_", "e1e2", "E1@example.comE2"} {
			if got := searchNos(t, s, q); len(got) != 0 {
				t.Errorf("search %q found %v, want nothing", q, got)
			}
		}
		got, err := s.Member(ctx, yamazaki.ID)
		storetest.Must(t, err)
		if got.FamilyName != "山﨑" || got.EmployeeNo != "abc123" {
			t.Fatalf("stored as %q %q, want exactly as written", got.FamilyName, got.EmployeeNo)
		}

		// An import that renames a member moves the key with the name.
		renamed := saito
		renamed.FamilyName, renamed.FamilyNameKana = "濵田", "ハマダ"
		storetest.Must(t, s.UpsertMembers(ctx, []model.Member{renamed}))
		if got := searchNos(t, s, "浜田"); !got["E2"] {
			t.Errorf("after the rename, 浜田 found %v", got)
		}
		if got := searchNos(t, s, "斎藤"); len(got) != 0 {
			t.Errorf("after the rename, the old name still finds %v", got)
		}

		// An erased member is not found by the name they had.
		storetest.Must(t, s.EraseMember(ctx, takahashi.ID, time.Now()))
		if got := searchNos(t, s, "たかはし"); len(got) != 0 {
			t.Errorf("an erased member is still found by their reading: %v", got)
		}
	})
}

// Members written before migration 00010 have no search key; migrating
// fills it in, and a second run has nothing to do.
func TestMigrateBackfillsSearchKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		m := person("E1", "髙橋", "花子", "タカハシ", "ハナコ")
		storetest.Must(t, s.CreateMember(ctx, &m))
		if _, err := s.DB().ExecContext(ctx, `UPDATE members SET search_key = ''`); err != nil {
			t.Fatal(err)
		}
		if got := searchNos(t, s, "高橋"); len(got) != 0 {
			t.Fatalf("without a key the member was found: %v", got)
		}
		_, err := s.Migrate(ctx)
		storetest.Must(t, err)
		if got := searchNos(t, s, "高橋"); !got["E1"] {
			t.Fatalf("after migrate, 高橋 found %v", got)
		}
		var pending int
		storetest.Must(t, s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM members WHERE search_key = ''`).Scan(&pending))
		if pending != 0 {
			t.Fatalf("%d members still without a key", pending)
		}
	})
}

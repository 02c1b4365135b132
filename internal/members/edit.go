package members

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// Patch is a change to a member: the fields present are changed, the
// others kept. The employee number is the member's key in HR's systems
// and cannot be changed here.
type Patch struct {
	EmployeeNo     *string `json:"employee_no"`
	FamilyName     *string `json:"family_name"`
	GivenName      *string `json:"given_name"`
	FamilyNameKana *string `json:"family_name_kana"`
	GivenNameKana  *string `json:"given_name_kana"`
	Email          *string `json:"email"`
	Tier           *string `json:"tier"`
	DepartedOn     *string `json:"departed_on"`
	Locale         *string `json:"locale"`
}

// Update changes a member's names, kana, e-mail, tier, departure date or
// locale, by the one rule of every input (Input.Normalize), under the
// member's row lock, audited with the fields before and after. The store
// tells every instance, so the next scan shows a new tier or name at once.
// A change that changes nothing writes nothing.
func (s *Service) Update(ctx context.Context, p *model.Principal, id string, patch Patch) (*model.Member, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, memberNotFound()
	}
	var after model.Member
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		before, err := tx.LockMember(ctx, id)
		if errors.Is(err, model.ErrNotFound) {
			return memberNotFound()
		}
		if err != nil {
			return err
		}
		if strings.HasPrefix(before.EmployeeNo, "erased-") {
			return model.NewProblem(model.ErrConflict, "member_erased", "This member's personal data was erased; nothing is left to edit.")
		}
		if patch.EmployeeNo != nil && strings.TrimSpace(*patch.EmployeeNo) != before.EmployeeNo {
			return model.Invalidf("employee_no", "employee_no_immutable", "the employee number cannot be changed; it is the member's key in HR's systems")
		}
		in := apply(*before, patch)
		if err := in.Normalize(); err != nil {
			return err
		}
		after = *before
		after.FamilyName, after.GivenName, after.FamilyNameKana, after.GivenNameKana = in.FamilyName, in.GivenName, in.FamilyNameKana, in.GivenNameKana
		after.Email, after.Tier, after.DepartedOn, after.Locale = in.Email, in.Tier, in.DepartedOn, in.Locale
		old, new := changed(*before, after)
		if len(old) == 0 {
			return nil
		}
		after.UpdatedAt = s.now()
		if err := tx.UpdateMember(ctx, &after); err != nil {
			return err
		}
		return tx.InsertAudit(ctx, p.Audit(newID(), after.UpdatedAt, "member.update", "member", id, model.JSON(old), model.JSON(new)))
	})
	if err != nil {
		return nil, fmt.Errorf("update member: %w", err)
	}
	return &after, nil
}

// apply lays a patch over a member, as an Input to normalise.
func apply(m model.Member, p Patch) Input {
	in := Input{EmployeeNo: m.EmployeeNo, FamilyName: m.FamilyName, GivenName: m.GivenName, FamilyNameKana: m.FamilyNameKana,
		GivenNameKana: m.GivenNameKana, Email: m.Email, Tier: m.Tier, DepartedOn: m.DepartedOn, Locale: m.Locale}
	for _, f := range []struct {
		from *string
		to   *string
	}{{p.FamilyName, &in.FamilyName}, {p.GivenName, &in.GivenName}, {p.FamilyNameKana, &in.FamilyNameKana},
		{p.GivenNameKana, &in.GivenNameKana}, {p.Email, &in.Email}, {p.Tier, &in.Tier}, {p.DepartedOn, &in.DepartedOn}, {p.Locale, &in.Locale}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	return in
}

// changed returns the fields that differ, before and after.
func changed(a, b model.Member) (before, after map[string]string) {
	before, after = map[string]string{}, map[string]string{}
	for _, f := range []struct{ name, a, b string }{
		{"family_name", a.FamilyName, b.FamilyName}, {"given_name", a.GivenName, b.GivenName},
		{"family_name_kana", a.FamilyNameKana, b.FamilyNameKana}, {"given_name_kana", a.GivenNameKana, b.GivenNameKana},
		{"email", a.Email, b.Email}, {"tier", a.Tier, b.Tier}, {"departed_on", a.DepartedOn, b.DepartedOn}, {"locale", a.Locale, b.Locale},
	} {
		if f.a != f.b {
			before[f.name], after[f.name] = f.a, f.b
		}
	}
	return before, after
}

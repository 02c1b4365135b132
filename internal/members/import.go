package members

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/csvimport"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// ImportLine is the report of one line of an import.
type ImportLine struct {
	Line       int    `json:"line"`
	EmployeeNo string `json:"employee_no"`
	Action     string `json:"action"` // create, update, unchanged
	MemberID   string `json:"member_id,omitempty"`
}

// ImportReport is the result of an import or a dry run.
type ImportReport struct {
	DryRun    bool                `json:"dry_run"`
	Applied   bool                `json:"applied"`
	Created   int                 `json:"created"`
	Updated   int                 `json:"updated"`
	Unchanged int                 `json:"unchanged"`
	Lines     []ImportLine        `json:"lines"`
	Problems  []csvimport.Problem `json:"problems"`
	SHA256    string              `json:"sha256"`
}

// ErrImportProblems is returned (wrapped in a Problem) when a file has
// problems: nothing was imported, and the report says why.
var ErrImportProblems = errors.New("import has problems")

// Import creates and updates members from an HR CSV export, all or
// nothing: a file with any problem imports nothing. A dry run computes the
// same report and writes nothing. Re-importing the same file changes
// nothing (every line is "unchanged").
func (s *Service) Import(ctx context.Context, p *model.Principal, data []byte, encoding string, dryRun bool) (*ImportReport, error) {
	rows, problems, err := csvimport.Parse(bytes.NewReader(data), csvimport.Options{Encoding: encoding})
	if errors.Is(err, csvimport.ErrUnknownEncoding) {
		return nil, model.Invalidf("encoding", "unknown_encoding", "encoding must be utf-8 or shift_jis (cp932), or left out to detect it")
	}
	if err != nil {
		return nil, fmt.Errorf("read csv: %w", err)
	}
	sum := sha256.Sum256(data)
	rep := &ImportReport{DryRun: dryRun, Problems: problems, Lines: []ImportLine{}, SHA256: hex.EncodeToString(sum[:])}
	if rep.Problems == nil {
		rep.Problems = []csvimport.Problem{}
	}
	if len(problems) > 0 {
		return rep, nil
	}
	nos := make([]string, len(rows))
	for i, r := range rows {
		nos[i] = r.EmployeeNo
	}
	now := s.now()
	var changes []model.Member
	var audits []model.AuditEntry
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		existing, err := tx.MembersByEmployeeNo(ctx, nos)
		if err != nil {
			return err
		}
		for _, r := range rows {
			m := model.Member{EmployeeNo: r.EmployeeNo, FamilyName: r.FamilyName, GivenName: r.GivenName,
				FamilyNameKana: r.FamilyNameKana, GivenNameKana: r.GivenNameKana, Email: r.Email, Tier: r.Tier,
				DepartedOn: r.DepartedOn.Format("2006-01-02"), Locale: r.Locale, Status: model.MemberActive, CreatedAt: now, UpdatedAt: now}
			line := ImportLine{Line: r.Line, EmployeeNo: r.EmployeeNo}
			old, ok := existing[r.EmployeeNo]
			switch {
			case !ok:
				m.ID = uuid.NewString()
				line.Action = "create"
				rep.Created++
				audits = append(audits, p.Audit(newID(), now, "member.import_create", "member", m.ID, "", model.JSON(m)))
			case sameFields(old, m):
				line.Action = "unchanged"
				line.MemberID = old.ID
				rep.Unchanged++
				rep.Lines = append(rep.Lines, line)
				continue
			default:
				m.ID, m.Status, m.StatusReason, m.CreatedAt = old.ID, old.Status, old.StatusReason, old.CreatedAt
				line.Action = "update"
				rep.Updated++
				audits = append(audits, p.Audit(newID(), now, "member.import_update", "member", m.ID, model.JSON(old), model.JSON(m)))
			}
			line.MemberID = m.ID
			rep.Lines = append(rep.Lines, line)
			changes = append(changes, m)
		}
		if dryRun || len(changes) == 0 {
			return nil
		}
		if err := tx.UpsertMembers(ctx, changes); err != nil {
			return err
		}
		summary := model.JSON(map[string]any{"sha256": rep.SHA256, "created": rep.Created, "updated": rep.Updated, "unchanged": rep.Unchanged})
		audits = append(audits, p.Audit(newID(), now, "member.import", "import", rep.SHA256[:16], "", summary))
		return tx.InsertAudit(ctx, audits...)
	})
	if err != nil {
		return nil, fmt.Errorf("import members: %w", err)
	}
	rep.Applied = !dryRun
	if dryRun {
		for i := range rep.Lines {
			if rep.Lines[i].Action == "create" {
				rep.Lines[i].MemberID = ""
			}
		}
	}
	return rep, nil
}

func sameFields(a, b model.Member) bool {
	return a.FamilyName == b.FamilyName && a.GivenName == b.GivenName && a.FamilyNameKana == b.FamilyNameKana &&
		a.GivenNameKana == b.GivenNameKana && a.Email == b.Email && a.Tier == b.Tier && a.DepartedOn == b.DepartedOn &&
		a.Locale == b.Locale
}

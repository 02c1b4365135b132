package console

import (
	"errors"
	"io"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/alumnipass/alumnipass/internal/members"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// The import runs in two steps on one file: the upload is kept in the
// database (any instance may serve the "Import" click) and previewed as a
// dry run; "Import" applies exactly that file, named by its hash, which is
// checked again. Kept files expire after an hour and belong to the admin
// who uploaded them.

var importHashRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

type importView struct {
	Encodings []consoleOption
	FileName  string
	Hash      string
	Encoding  string
	Report    *members.ImportReport
	Lines     []importLineRow
	Problems  []importProblemRow
	CanApply  bool
	Applied   bool
	// InviteIDs are the members an applied import created or updated,
	// comma-separated, for "send enrolment invitations".
	InviteIDs   string
	InviteCount int
}

type importLineRow struct {
	Line                                 int
	EmployeeNo, Action, ActionLabel, URL string
}

type importProblemRow struct {
	Line            int
	Column, Message string
}

func (h *Handler) encodingOptions(lang, selected string) []consoleOption {
	var out []consoleOption
	for _, e := range []string{"auto", "utf-8", "cp932"} {
		out = append(out, consoleOption{Value: e, Label: h.cat.T(lang, "admin.import.encoding."+e), Selected: e == selected || selected == "" && e == "auto"})
	}
	return out
}

func (h *Handler) adminImportPage(c *fiber.Ctx) error {
	v := importView{Encodings: h.encodingOptions(h.render.Lang(c), "auto")}
	return h.consolePage(c, fiber.StatusOK, "admin_import", "import", v, consoleNotice{})
}

// adminImportPreview keeps the uploaded file and shows the dry run.
func (h *Handler) adminImportPreview(c *fiber.Ctx) error {
	lang := h.render.Lang(c)
	enc := consoleForm(c, "encoding")
	v := importView{Encodings: h.encodingOptions(lang, enc), Encoding: enc}
	fh, err := c.FormFile("file")
	if err != nil {
		return h.consolePage(c, fiber.StatusBadRequest, "admin_import", "import", v, consoleNotice{Text: h.cat.T(lang, "admin.import.no_file"), Tone: "bad"})
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(f, int64(h.cfg.BodyLimit)+1))
	f.Close()
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return h.consolePage(c, fiber.StatusBadRequest, "admin_import", "import", v, consoleNotice{Text: h.cat.T(lang, "admin.import.no_file"), Tone: "bad"})
	}
	v.FileName = filepath.Base(fh.Filename)
	hash, err := h.members.KeepUpload(c.UserContext(), httpkit.Principal(c), data)
	if err != nil {
		return err
	}
	return h.importReport(c, v, hash, data, true)
}

// importReport runs the import (dry or not) and shows its report.
func (h *Handler) importReport(c *fiber.Ctx, v importView, hash string, data []byte, dryRun bool) error {
	lang := h.render.Lang(c)
	rep, err := h.members.Import(c.UserContext(), httpkit.Principal(c), data, v.Encoding, dryRun)
	if err != nil {
		msg, _, status, ok := h.formProblem(lang, err)
		if !ok {
			return err
		}
		return h.consolePage(c, status, "admin_import", "import", v, consoleNotice{Text: msg, Tone: "bad"})
	}
	v.Hash, v.Report, v.Applied = hash, rep, rep.Applied
	for _, l := range rep.Lines {
		row := importLineRow{Line: l.Line, EmployeeNo: l.EmployeeNo, Action: l.Action, ActionLabel: h.consoleLabel(lang, "admin.import.action.", l.Action)}
		if l.MemberID != "" {
			row.URL = "/admin/members/" + l.MemberID
		}
		v.Lines = append(v.Lines, row)
	}
	for _, p := range rep.Problems {
		msg := p.Message
		if lang == "ja" && p.MessageJA != "" {
			msg = p.MessageJA
		}
		v.Problems = append(v.Problems, importProblemRow{Line: p.Line, Column: p.Column, Message: msg})
	}
	v.CanApply = dryRun && len(rep.Problems) == 0 && rep.Created+rep.Updated > 0
	if rep.Applied {
		var ids []string
		for _, l := range rep.Lines {
			if l.MemberID != "" && (l.Action == "create" || l.Action == "update") {
				ids = append(ids, l.MemberID)
			}
		}
		v.InviteIDs, v.InviteCount = strings.Join(ids, ","), len(ids)
	}
	status, n := fiber.StatusOK, consoleNotice{}
	switch {
	case len(rep.Problems) > 0:
		status, n = fiber.StatusUnprocessableEntity, consoleNotice{Text: h.cat.T(lang, "admin.import.has_problems"), Tone: "bad"}
	case rep.Applied:
		n = consoleNotice{Text: h.cat.T(lang, "admin.import.done"), Tone: "ok"}
		if err := h.members.DropUpload(c.UserContext(), httpkit.Principal(c), hash); err != nil {
			return err
		}
	case !v.CanApply:
		n = consoleNotice{Text: h.cat.T(lang, "admin.import.nothing"), Tone: "info"}
	default:
		n = consoleNotice{Text: h.cat.T(lang, "admin.import.preview_note"), Tone: "info"}
	}
	return h.consolePage(c, status, "admin_import", "import", v, n)
}

// adminImportApply imports the previewed file, found by its hash and
// checked against it, provided it is less than an hour old and was
// uploaded by the same admin.
func (h *Handler) adminImportApply(c *fiber.Ctx) error {
	lang := h.render.Lang(c)
	hash := consoleForm(c, "hash")
	enc := consoleForm(c, "encoding")
	v := importView{Encodings: h.encodingOptions(lang, enc), Encoding: enc, FileName: consoleForm(c, "filename")}
	gone := consoleNotice{Text: h.cat.T(lang, "admin.import.expired"), Tone: "bad"}
	if !importHashRe.MatchString(hash) {
		return h.consolePage(c, fiber.StatusBadRequest, "admin_import", "import", v, gone)
	}
	data, err := h.members.KeptUpload(c.UserContext(), httpkit.Principal(c), hash)
	if errors.Is(err, model.ErrNotFound) {
		return h.consolePage(c, fiber.StatusGone, "admin_import", "import", v, gone)
	}
	if err != nil {
		return err
	}
	return h.importReport(c, v, hash, data, false)
}

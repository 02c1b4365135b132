package web

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/alumnipass/alumnipass/internal/members"
	"github.com/alumnipass/alumnipass/internal/model"
)

// The import runs in two steps on one file: the upload is kept in
// <DataDir>/imports/<sha256>.csv and previewed as a dry run; "Import"
// applies exactly that file, named by its hash, which is checked again.
// Kept files expire after an hour.

const importKeep = time.Hour

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
}

type importLineRow struct {
	Line                                 int
	EmployeeNo, Action, ActionLabel, URL string
}

type importProblemRow struct {
	Line            int
	Column, Message string
}

func (s *Server) encodingOptions(lang, selected string) []consoleOption {
	var out []consoleOption
	for _, e := range []string{"auto", "utf-8", "cp932"} {
		out = append(out, consoleOption{Value: e, Label: s.cat.T(lang, "admin.import.encoding."+e), Selected: e == selected || selected == "" && e == "auto"})
	}
	return out
}

func (s *Server) importDir() string { return filepath.Join(s.cfg.DataDir, "imports") }

func (s *Server) adminImportPage(c *fiber.Ctx) error {
	v := importView{Encodings: s.encodingOptions(s.lang(c), "auto")}
	return s.consolePage(c, fiber.StatusOK, "admin_import", "import", v, consoleNotice{})
}

// adminImportPreview keeps the uploaded file and shows the dry run.
func (s *Server) adminImportPreview(c *fiber.Ctx) error {
	lang := s.lang(c)
	enc := consoleForm(c, "encoding")
	v := importView{Encodings: s.encodingOptions(lang, enc), Encoding: enc}
	fh, err := c.FormFile("file")
	if err != nil {
		return s.consolePage(c, fiber.StatusBadRequest, "admin_import", "import", v, consoleNotice{Text: s.cat.T(lang, "admin.import.no_file"), Tone: "bad"})
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(f, int64(s.cfg.BodyLimit)+1))
	f.Close()
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return s.consolePage(c, fiber.StatusBadRequest, "admin_import", "import", v, consoleNotice{Text: s.cat.T(lang, "admin.import.no_file"), Tone: "bad"})
	}
	v.FileName = filepath.Base(fh.Filename)
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:])
	s.sweepImports()
	if err := os.MkdirAll(s.importDir(), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.importDir(), hash+".csv"), data, 0o600); err != nil {
		return err
	}
	return s.importReport(c, v, hash, data, true)
}

// importReport runs the import (dry or not) and shows its report.
func (s *Server) importReport(c *fiber.Ctx, v importView, hash string, data []byte, dryRun bool) error {
	lang := s.lang(c)
	rep, err := s.svc.Members.Import(c.UserContext(), principal(c), data, v.Encoding, dryRun)
	if err != nil {
		msg, _, status, ok := s.formProblem(lang, err)
		if !ok {
			return err
		}
		return s.consolePage(c, status, "admin_import", "import", v, consoleNotice{Text: msg, Tone: "bad"})
	}
	v.Hash, v.Report, v.Applied = hash, rep, rep.Applied
	for _, l := range rep.Lines {
		row := importLineRow{Line: l.Line, EmployeeNo: l.EmployeeNo, Action: l.Action, ActionLabel: s.consoleLabel(lang, "admin.import.action.", l.Action)}
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
	status, n := fiber.StatusOK, consoleNotice{}
	switch {
	case len(rep.Problems) > 0:
		status, n = fiber.StatusUnprocessableEntity, consoleNotice{Text: s.cat.T(lang, "admin.import.has_problems"), Tone: "bad"}
	case rep.Applied:
		n = consoleNotice{Text: s.cat.T(lang, "admin.import.done"), Tone: "ok"}
		_ = os.Remove(filepath.Join(s.importDir(), hash+".csv"))
	case !v.CanApply:
		n = consoleNotice{Text: s.cat.T(lang, "admin.import.nothing"), Tone: "info"}
	default:
		n = consoleNotice{Text: s.cat.T(lang, "admin.import.preview_note"), Tone: "info"}
	}
	return s.consolePage(c, status, "admin_import", "import", v, n)
}

// adminImportApply imports the previewed file, found by its hash and
// checked against it, provided it is less than an hour old.
func (s *Server) adminImportApply(c *fiber.Ctx) error {
	lang := s.lang(c)
	hash := consoleForm(c, "hash")
	enc := consoleForm(c, "encoding")
	v := importView{Encodings: s.encodingOptions(lang, enc), Encoding: enc, FileName: consoleForm(c, "filename")}
	gone := consoleNotice{Text: s.cat.T(lang, "admin.import.expired"), Tone: "bad"}
	if !importHashRe.MatchString(hash) {
		return s.consolePage(c, fiber.StatusBadRequest, "admin_import", "import", v, gone)
	}
	path := filepath.Join(s.importDir(), hash+".csv")
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) || err == nil && time.Since(st.ModTime()) > importKeep {
		_ = os.Remove(path)
		return s.consolePage(c, fiber.StatusGone, "admin_import", "import", v, gone)
	}
	if err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != hash {
		return model.NewProblem(model.ErrConflict, "import_changed", "The kept file does not match its hash; upload it again.")
	}
	return s.importReport(c, v, hash, data, false)
}

// sweepImports removes kept uploads older than an hour.
func (s *Server) sweepImports() {
	entries, err := os.ReadDir(s.importDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		info, err := e.Info()
		if err == nil && time.Since(info.ModTime()) > importKeep {
			_ = os.Remove(filepath.Join(s.importDir(), e.Name()))
		}
	}
}

// Package csvimport reads a member list exported from an HR system or saved
// from Excel, and turns it into validated rows or into a list of problems that
// an HR person can fix in the spreadsheet.
//
// It is pure: no database, no network. The caller (the HTTP import endpoint and
// the `alumnipass import` command) decides what to do with the result; because
// an import is all-or-nothing, a caller imports nothing while Parse reports any
// Problem, so Parse keeps going after the first fault and reports every one of
// them, each located by file line and column.
package csvimport

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"time"
)

// DefaultMaxRows is the number of members one file may hold when
// Options.MaxRows is zero. It bounds the memory one import can take.
const DefaultMaxRows = 200000

// ErrUnknownEncoding is returned (wrapped) by Parse when Options.Encoding names
// an encoding it does not know, so that an HTTP handler can answer 400.
var ErrUnknownEncoding = errors.New("csvimport: unknown encoding")

// Row is one member as read from the file, normalised and validated.
type Row struct {
	// Line is the 1-based physical line where the record starts in the file
	// (the header is line 1), as a text editor counts lines.
	Line           int
	EmployeeNo     string
	FamilyName     string
	GivenName      string
	FamilyNameKana string // katakana, or "" when not given
	GivenNameKana  string // katakana, or "" when not given
	Email          string // the bare address, domain in lower case
	Tier           string // a lower-case slug
	Locale         string // "ja" or "en"
	DepartedOn     time.Time
}

// Problem is one thing wrong with the file, located for a person to fix it in
// Excel.
type Problem struct {
	// Line is the 1-based physical line where the faulty record starts.
	Line int `json:"line"`
	// Column is the column as the header row named it, or the API name of a
	// missing column; "" when the problem concerns the whole line.
	Column string `json:"column"`
	// Code is machine-readable; see the Code* constants.
	Code string `json:"code"`
	// Message says, in English for an HR person, which value is wrong, what
	// is wrong with it and how to fix it.
	Message string `json:"message"`
	// MessageJA is the same in Japanese.
	MessageJA string `json:"message_ja"`
}

// Options tune Parse. The zero value auto-detects the encoding and allows
// DefaultMaxRows members.
type Options struct {
	// Encoding is "" or "auto" (detect), "utf-8", or "shift_jis" (aliases
	// sjis, cp932, windows-31j, ms932), as Excel on Japanese Windows writes
	// it. Case, "-" and "_" do not matter.
	Encoding string
	// MaxRows is the largest number of members accepted; 0 means
	// DefaultMaxRows.
	MaxRows int
}

// Parse reads a CSV member list from r and returns the valid rows and every
// problem found. A row with a problem is not in rows.
//
// err is non-nil only when r fails or opt.Encoding is unknown
// (ErrUnknownEncoding); faults in the data are Problems.
func Parse(r io.Reader, opt Options) (rows []Row, problems []Problem, err error) {
	kind, err := parseEncoding(opt.Encoding)
	if err != nil {
		return nil, nil, err
	}
	maxRows := opt.MaxRows
	if maxRows <= 0 {
		maxRows = DefaultMaxRows
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("csvimport: read: %w", err)
	}

	p := &parser{maxRows: maxRows}
	data, p.dec, p.problems = chooseEncoding(data, kind)
	if len(p.problems) > 0 {
		return nil, p.problems, nil
	}
	p.run(data)
	return p.rows, p.problems, nil
}

// parser holds the state of one Parse call.
type parser struct {
	maxRows  int
	dec      *fieldDecoder
	cols     []column // one per header cell, in file order
	rows     []Row
	problems []Problem
	seen     map[string]int // employee number → line of its first valid row
}

// add records a problem at line and column.
func (p *parser) add(line int, column string, f fault) {
	p.problems = append(p.problems, Problem{
		Line: line, Column: column, Code: f.code, Message: f.en, MessageJA: f.ja,
	})
}

// run parses data, already stripped of its BOM, record by record.
func (p *parser) run(data []byte) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.ReuseRecord = true

	header, err := cr.Read()
	if err == io.EOF {
		p.add(1, "", faultEmptyFile())
		return
	}
	if err != nil {
		p.addParseError(err)
		return
	}
	headerLine, _ := cr.FieldPos(0)
	if !p.readHeader(header, headerLine) {
		return
	}

	// A line count is a cheap upper bound on the number of records.
	estimate := min(bytes.Count(data, []byte{'\n'}), p.maxRows)
	p.rows = make([]Row, 0, estimate)
	p.seen = make(map[string]int, estimate)

	count := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return
		}
		if err != nil && !errors.Is(err, csv.ErrFieldCount) {
			p.addParseError(err)
			continue
		}
		if blankRecord(rec) {
			continue // Excel writes ",,,," for rows it once formatted
		}
		line, _ := cr.FieldPos(0)
		count++
		if count > p.maxRows {
			p.add(line, "", faultTooManyRows(p.maxRows))
			return
		}
		if err != nil {
			p.add(line, "", faultFieldCount(len(rec), len(p.cols)))
			continue
		}
		p.readRecord(rec, line)
	}
}

// addParseError turns an encoding/csv error into a Problem.
func (p *parser) addParseError(err error) {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		// bytes.Reader cannot fail, so only a csv ParseError is expected.
		p.add(0, "", faultQuoting(0, 0, err))
		return
	}
	p.add(pe.StartLine, "", faultQuoting(pe.StartLine, pe.Line, pe.Err))
}

// blankRecord reports whether every field of rec is empty or white space.
func blankRecord(rec []string) bool {
	for _, f := range rec {
		if trimSpace(f) != "" {
			return false
		}
	}
	return true
}

// readRecord validates one data record and keeps it when it has no problem.
func (p *parser) readRecord(rec []string, line int) {
	row := Row{Line: line, Locale: "ja"}
	ok := true
	for i, c := range p.cols {
		raw := rec[i]
		if c.field == fieldNone {
			if c.name == "" && !c.reported && trimSpace(raw) != "" {
				p.cols[i].reported = true
				shown, _ := p.dec.decode(raw) // "" when undecodable
				p.add(line, "", faultUnnamedColumn(i+1, shown))
			}
			continue
		}
		if c.ignored {
			continue // a duplicate column, already reported
		}
		v, bad := p.dec.decode(raw)
		var date time.Time
		var f *fault
		if bad != nil {
			f = faultBadEncoding(c.name, *bad, p.dec)
		} else {
			v, date, f = normalise(c.field, c.name, v)
		}
		if f != nil {
			p.add(line, c.name, *f)
			ok = false
			continue
		}
		if c.field == fieldDepartedOn {
			row.DepartedOn = date
			continue
		}
		*row.slot(c.field) = v
	}
	if row.EmployeeNo != "" {
		if first, dup := p.seen[row.EmployeeNo]; dup {
			name := p.columnName(fieldEmployeeNo)
			f := faultDuplicateEmployeeNo(row.EmployeeNo, first)
			p.add(line, name, f)
			ok = false
		} else {
			p.seen[row.EmployeeNo] = line
		}
	}
	if ok {
		p.rows = append(p.rows, row)
	}
}

// columnName returns the header text of the column that holds f.
func (p *parser) columnName(f field) string {
	for _, c := range p.cols {
		if c.field == f && !c.ignored {
			return c.name
		}
	}
	return f.apiName()
}

// slot returns the string field of r that holds f (not DepartedOn).
func (r *Row) slot(f field) *string {
	switch f {
	case fieldEmployeeNo:
		return &r.EmployeeNo
	case fieldFamilyName:
		return &r.FamilyName
	case fieldGivenName:
		return &r.GivenName
	case fieldFamilyNameKana:
		return &r.FamilyNameKana
	case fieldGivenNameKana:
		return &r.GivenNameKana
	case fieldEmail:
		return &r.Email
	case fieldTier:
		return &r.Tier
	case fieldLocale:
		return &r.Locale
	}
	panic(fmt.Sprintf("csvimport: no string slot for field %d", f))
}

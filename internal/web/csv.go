package web

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/partners"
)

// sendCSV sends UTF-8 CSV with a BOM, which Excel needs to read UTF-8.
func sendCSV(c *fiber.Ctx, filename string, rows [][]string) error {
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	for _, r := range rows {
		for i, f := range r {
			r[i] = defuse(f)
		}
		_ = w.Write(r)
	}
	w.Flush()
	c.Set("Content-Type", "text/csv; charset=utf-8")
	c.Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	return c.Send(buf.Bytes())
}

// defuse stops a spreadsheet from running a cell as a formula.
func defuse(f string) string {
	if f != "" && strings.ContainsRune("=+-@\t\r", rune(f[0])) {
		if _, err := strconv.ParseFloat(f, 64); err != nil {
			return "'" + f
		}
	}
	return f
}

func reportCSV(lines []partners.ReportLine) [][]string {
	rows := [][]string{{"at", "venue", "perk", "party_size", "member", "guest"}}
	for _, l := range lines {
		rows = append(rows, []string{l.At.In(jst()).Format(time.DateTime), l.Venue, l.Perk, strconv.Itoa(l.PartySize), l.Member, strconv.FormatBool(l.Guest)})
	}
	return rows
}

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// jst is model.JST, short for the many dates the pages print.
func jst() *time.Location { return model.JST() }

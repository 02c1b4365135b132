package httpkit

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// SendCSV sends UTF-8 CSV with a BOM, which Excel needs to read UTF-8.
func SendCSV(c *fiber.Ctx, filename string, rows [][]string) error {
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

package console

import (
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/partners"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// Reports: redemptions by month, partner and perk, as a bar chart drawn on
// the server in SVG (no script, nothing to load) and as a table, with the
// same numbers as a CSV file that Excel opens as it is.

type reportsView struct {
	Since     string
	PartnerID string
	Partners  []consoleOption
	Chart     consoleChart
	Rows      []reportRow
	Count     int
	People    int
	CSVURL    string
}

type reportRow struct {
	Month, Partner, Perk string
	Count, People        int
}

// reportSince reads ?since=YYYY-MM as the first day of that month in Japan
// time; by default the last twelve months.
func (h *Handler) reportSince(c *fiber.Ctx, monthsBack int) (time.Time, string) {
	now := h.now().In(model.JST())
	start := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, model.JST()).AddDate(0, -monthsBack, 0)
	if v := c.Query("since"); v != "" {
		if t, err := time.ParseInLocation("2006-01", v, model.JST()); err == nil && t.Before(now) && t.Year() >= 2000 {
			start = t
		}
	}
	return start, start.Format("2006-01")
}

func (h *Handler) reportRows(c *fiber.Ctx) (since time.Time, sinceText, partnerID string, rows []partners.ReportRow, err error) {
	since, sinceText = h.reportSince(c, 11)
	partnerID = utils.CopyString(c.Query("partner"))
	rows, err = h.partners.Summary(c.UserContext(), httpkit.Principal(c), partnerID, since)
	return since, sinceText, partnerID, rows, err
}

func (h *Handler) adminReports(c *fiber.Ctx) error {
	lang := h.render.Lang(c)
	since, sinceText, partnerID, rows, err := h.reportRows(c)
	if err != nil {
		return err
	}
	ps, err := h.partners.List(c.UserContext(), httpkit.Principal(c))
	if err != nil {
		return err
	}
	v := reportsView{Since: sinceText, PartnerID: partnerID}
	for _, p := range ps {
		v.Partners = append(v.Partners, consoleOption{Value: p.ID, Label: p.Name, Selected: p.ID == partnerID})
	}
	for _, r := range rows {
		v.Rows = append(v.Rows, reportRow{Month: r.Month, Partner: r.PartnerName, Perk: r.PerkTitle, Count: r.Count, People: r.People})
		v.Count += r.Count
		v.People += r.People
	}
	v.Chart = h.monthlyChart(lang, since, h.now(), rows, func(r partners.ReportRow) string { return r.PartnerName })
	q := url.Values{"since": {sinceText}}
	if partnerID != "" {
		q.Set("partner", partnerID)
	}
	v.CSVURL = "/admin/reports.csv?" + q.Encode()
	return h.consolePage(c, fiber.StatusOK, "admin_reports", "reports", v, consoleNotice{})
}

func (h *Handler) adminReportsCSV(c *fiber.Ctx) error {
	lang := h.render.Lang(c)
	_, sinceText, _, rows, err := h.reportRows(c)
	if err != nil {
		return err
	}
	out := [][]string{{h.cat.T(lang, "admin.reports.month"), h.cat.T(lang, "admin.reports.partner"), h.cat.T(lang, "admin.reports.perk"),
		h.cat.T(lang, "admin.reports.count"), h.cat.T(lang, "admin.reports.people")}}
	for _, r := range rows {
		out = append(out, []string{r.Month, r.PartnerName, r.PerkTitle, strconv.Itoa(r.Count), strconv.Itoa(r.People)})
	}
	return httpkit.SendCSV(c, "alumnipass-redemptions-since-"+sinceText+".csv", out)
}

// consoleChart is a stacked bar chart laid out in Go, drawn by the template
// as SVG with presentation attributes only (the CSP allows no inline style).
type consoleChart struct {
	Width, Height  int
	PlotLeft       int
	PlotRight      int
	Bars           []chartRect
	XLabels        []chartText
	YTicks         []chartTick
	Legend         []chartLegend
	Empty          bool
	EmptyText      string
	Label          string
	BaselineY      int
	ValueLabelsTop []chartText
}

type chartRect struct {
	X, Y, W, H int
	Fill       string
	Title      string
}

type chartText struct {
	X, Y int
	Text string
}

type chartTick struct {
	Y     int
	Label string
}

type chartLegend struct {
	Fill, Label string
}

// chartPalette is distinguishable in colour and in grey.
func chartPalette() []string {
	return []string{"#0b2545", "#2f7ebc", "#8fbce6", "#b45309", "#f2b134", "#0a7a33", "#7c3aed", "#b91c1c"}
}

// monthlyChart stacks each month's redemption counts by series (partner
// for HR, perk for a partner), every month from since to now.
func (h *Handler) monthlyChart(lang string, since, now time.Time, rows []partners.ReportRow, series func(partners.ReportRow) string) consoleChart {
	ch := consoleChart{Width: 1040, Height: 300, PlotLeft: 48, Label: h.cat.T(lang, "admin.reports.chart_label")}
	ch.PlotRight = ch.Width - 12
	top, bottom := 16, ch.Height-36
	ch.BaselineY = bottom
	var months []string
	for m := since.In(model.JST()); !m.After(now.In(model.JST())); m = m.AddDate(0, 1, 0) {
		months = append(months, m.Format("2006-01"))
		if len(months) >= 36 {
			break
		}
	}
	if len(months) == 0 {
		months = []string{since.In(model.JST()).Format("2006-01")}
	}
	colour := map[string]string{}
	var order []string
	counts := map[string]map[string]int{}
	totals := map[string]int{}
	for _, r := range rows {
		key := series(r)
		if _, ok := colour[key]; !ok {
			pal := chartPalette()
			colour[key] = pal[len(order)%len(pal)]
			order = append(order, key)
		}
		if counts[r.Month] == nil {
			counts[r.Month] = map[string]int{}
		}
		counts[r.Month][key] += r.Count
		totals[r.Month] += r.Count
	}
	maxTotal := 0
	for _, t := range totals {
		maxTotal = max(maxTotal, t)
	}
	ch.Empty = maxTotal == 0
	ch.EmptyText = h.cat.T(lang, "admin.reports.empty")
	step := chartStep(maxTotal)
	scaleMax := step * max((maxTotal+step-1)/step, 1)
	plotH := bottom - top
	for v := 0; v <= scaleMax; v += step {
		ch.YTicks = append(ch.YTicks, chartTick{Y: bottom - v*plotH/scaleMax, Label: strconv.Itoa(v)})
	}
	slot := (ch.PlotRight - ch.PlotLeft) / len(months)
	barW := min(max(slot*6/10, 4), 64)
	for i, m := range months {
		x := ch.PlotLeft + i*slot + (slot-barW)/2
		y := bottom
		for _, key := range order {
			n := counts[m][key]
			if n == 0 {
				continue
			}
			barH := n * plotH / scaleMax
			y -= barH
			ch.Bars = append(ch.Bars, chartRect{X: x, Y: y, W: barW, H: barH, Fill: colour[key], Title: m + " · " + key + ": " + strconv.Itoa(n)})
		}
		if totals[m] > 0 {
			ch.ValueLabelsTop = append(ch.ValueLabelsTop, chartText{X: x + barW/2, Y: y - 4, Text: strconv.Itoa(totals[m])})
		}
		if len(months) <= 12 || i%2 == 0 {
			ch.XLabels = append(ch.XLabels, chartText{X: x + barW/2, Y: bottom + 18, Text: m})
		}
	}
	for _, key := range order {
		ch.Legend = append(ch.Legend, chartLegend{Fill: colour[key], Label: key})
	}
	return ch
}

// chartStep is a round tick step for four or so gridlines up to max.
func chartStep(maxV int) int {
	if maxV <= 4 {
		return 1
	}
	raw := (maxV + 3) / 4
	mag := 1
	for mag*10 <= raw {
		mag *= 10
	}
	for _, m := range []int{1, 2, 5, 10} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

package console

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/partners"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// The partner manager's console is its partner's page (see
// partners.go) plus its own redemption report. Members appear there
// only as the per-partner pseudonym: never a name, an e-mail or an employee
// number.

type partnerReportView struct {
	Since  string
	Chart  consoleChart
	Lines  []partnerReportLine
	More   bool
	Count  int
	People int
	CSVURL string
}

type partnerReportLine struct {
	At, Venue, Perk, Member string
	PartySize               int
	Guest                   bool
}

// partnerPageLines is how many redemptions the page lists; the CSV has all.
const partnerPageLines = 200

func (h *Handler) partnerReport(c *fiber.Ctx, partnerID string) (*partnerReportView, error) {
	lang := h.render.Lang(c)
	since, sinceText := h.reportSince(c, 2)
	p := httpkit.Principal(c)
	rows, err := h.partners.Summary(c.UserContext(), p, partnerID, since)
	if err != nil {
		return nil, err
	}
	lines, err := h.partners.Report(c.UserContext(), p, partnerID, since)
	if err != nil {
		return nil, err
	}
	v := &partnerReportView{Since: sinceText, CSVURL: "/partner/report.csv?since=" + sinceText,
		Chart: h.monthlyChart(lang, since, h.now(), rows, func(r partners.ReportRow) string { return r.PerkTitle })}
	for _, r := range rows {
		v.Count += r.Count
		v.People += r.People
	}
	for i, l := range lines {
		if i == partnerPageLines {
			v.More = true
			break
		}
		v.Lines = append(v.Lines, partnerReportLine{At: consoleTime(l.At), Venue: l.Venue, Perk: l.Perk, Member: l.Member, PartySize: l.PartySize, Guest: l.Guest})
	}
	return v, nil
}

func (h *Handler) partnerReportCSV(c *fiber.Ctx) error {
	lang := h.render.Lang(c)
	p := httpkit.Principal(c)
	since, sinceText := h.reportSince(c, 2)
	lines, err := h.partners.Report(c.UserContext(), p, p.PartnerID, since)
	if err != nil {
		return err
	}
	return httpkit.SendCSV(c, "redemptions-since-"+sinceText+".csv", h.partnerReportRows(lang, lines))
}

func (h *Handler) partnerReportRows(lang string, lines []partners.ReportLine) [][]string {
	out := [][]string{{h.cat.T(lang, "partner.report.at"), h.cat.T(lang, "partner.report.venue"), h.cat.T(lang, "partner.report.perk"),
		h.cat.T(lang, "partner.report.party_size"), h.cat.T(lang, "partner.report.member"), h.cat.T(lang, "partner.report.guest")}}
	yes, no := h.cat.T(lang, "partner.report.yes"), h.cat.T(lang, "partner.report.no")
	for _, l := range lines {
		guest := no
		if l.Guest {
			guest = yes
		}
		out = append(out, []string{l.At.In(model.JST()).Format(time.DateTime), l.Venue, l.Perk, strconv.Itoa(l.PartySize), l.Member, guest})
	}
	return out
}

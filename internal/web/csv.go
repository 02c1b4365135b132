package web

import (
	"strconv"
	"strings"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/partners"
)

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

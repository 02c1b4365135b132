package public

import (
	"strconv"
	"strings"

	"github.com/alumnipass/alumnipass/internal/model"
)

// walletPerk is a perk as the wallet's directory shows it, in the page's
// language: partner and venues, what, when (days and hours, Japan time)
// and for whom (tiers, companions, limits per member).
func (h *Handler) walletPerk(lang string, p model.Perk, partner string, venues []string) walletPerk {
	wp := walletPerk{Partner: partner, Venue: strings.Join(venues, h.cat.T(lang, "wallet.perks.venue_sep")),
		Title: model.Localized(lang, p.Title, p.TitleEn), Description: model.Localized(lang, p.Description, p.DescriptionEn),
		Companions: p.Companions, When: h.cat.T(lang, "wallet.perks.any_time"), Tiers: h.cat.T(lang, "wallet.perks.all_tiers")}
	var when []string
	if p.Days != "" {
		var names []string
		for _, d := range model.OrderedDays(p.Days) {
			names = append(names, h.cat.T(lang, "day."+d))
		}
		when = append(when, strings.Join(names, h.cat.T(lang, "day.sep")))
	}
	if p.Hours != "" {
		when = append(when, p.Hours)
	}
	if len(when) > 0 {
		wp.When = strings.Join(when, " · ")
	}
	if p.EligibleTiers != "" && p.EligibleTiers != "*" {
		wp.Tiers = strings.ReplaceAll(h.cat.T(lang, "wallet.perks.tiers"), "{tiers}", strings.ReplaceAll(p.EligibleTiers, ",", ", "))
	}
	var limits []string
	for _, l := range []struct {
		key string
		n   int
	}{{"wallet.perks.per_day", p.LimitPerDay}, {"wallet.perks.per_month", p.LimitPerMonth}} {
		if l.n > 0 {
			limits = append(limits, strings.ReplaceAll(h.cat.T(lang, l.key), "{n}", strconv.Itoa(l.n)))
		}
	}
	wp.Limits = strings.Join(limits, " · ")
	return wp
}

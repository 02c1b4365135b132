package api

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/partners"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

func (h *Handler) createPartner(c *fiber.Ctx) error {
	var in partners.PartnerInput
	if err := httpkit.BindJSON(c, &in); err != nil {
		return err
	}
	d, err := h.partners.CreatePartner(c.UserContext(), httpkit.Principal(c), in)
	if err != nil {
		return err
	}
	return httpkit.Created(c, d)
}

func (h *Handler) listPartners(c *fiber.Ctx) error {
	ps, err := h.partners.List(c.UserContext(), httpkit.Principal(c))
	if err != nil {
		return err
	}
	if ps == nil {
		ps = []model.Partner{}
	}
	return c.JSON(fiber.Map{"partners": ps})
}

func (h *Handler) getPartner(c *fiber.Ctx) error {
	d, err := h.partners.Get(c.UserContext(), httpkit.Principal(c), utils.CopyString(c.Params("id")))
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func (h *Handler) addVenue(c *fiber.Ctx) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := httpkit.BindJSON(c, &in); err != nil {
		return err
	}
	v, err := h.partners.AddVenue(c.UserContext(), httpkit.Principal(c), utils.CopyString(c.Params("id")), in.Name)
	if err != nil {
		return err
	}
	return httpkit.Created(c, v)
}

func (h *Handler) createKey(c *fiber.Ctx) error {
	var in struct {
		Name    string `json:"name"`
		VenueID string `json:"venue_id"`
	}
	if err := httpkit.BindJSON(c, &in); err != nil {
		return err
	}
	k, err := h.partners.CreateKey(c.UserContext(), httpkit.Principal(c), utils.CopyString(c.Params("id")), in.VenueID, in.Name)
	if err != nil {
		return err
	}
	return httpkit.Created(c, k)
}

func (h *Handler) listKeys(c *fiber.Ctx) error {
	ks, err := h.partners.Keys(c.UserContext(), httpkit.Principal(c), utils.CopyString(c.Params("id")))
	if err != nil {
		return err
	}
	if ks == nil {
		ks = []model.APIKey{}
	}
	return c.JSON(fiber.Map{"keys": ks})
}

func (h *Handler) revokeKey(c *fiber.Ctx) error {
	if err := h.partners.RevokeKey(c.UserContext(), httpkit.Principal(c), utils.CopyString(c.Params("id")), utils.CopyString(c.Params("key"))); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"revoked": true})
}

func (h *Handler) createPairing(c *fiber.Ctx) error {
	var in struct {
		Name    string `json:"name"`
		VenueID string `json:"venue_id"`
	}
	if len(c.Body()) > 0 {
		if err := httpkit.BindJSON(c, &in); err != nil {
			return err
		}
	}
	pr, err := h.partners.CreatePairing(c.UserContext(), httpkit.Principal(c), utils.CopyString(c.Params("id")), in.VenueID, in.Name, h.cfg.BaseURL)
	if err != nil {
		return err
	}
	return httpkit.Created(c, pr)
}

func (h *Handler) createPerk(c *fiber.Ctx) error {
	var in partners.PerkInput
	if err := httpkit.BindJSON(c, &in); err != nil {
		return err
	}
	pk, err := h.partners.CreatePerk(c.UserContext(), httpkit.Principal(c), utils.CopyString(c.Params("id")), in)
	if err != nil {
		return err
	}
	return httpkit.Created(c, perkJSON(*pk))
}

func (h *Handler) listPerks(c *fiber.Ctx) error {
	ps, err := h.partners.Perks(c.UserContext(), httpkit.Principal(c), utils.CopyString(c.Params("id")))
	if err != nil {
		return err
	}
	out := make([]fiber.Map, len(ps))
	for i, p := range ps {
		out[i] = perkJSON(p)
	}
	return c.JSON(fiber.Map{"perks": out})
}

func perkJSON(p model.Perk) fiber.Map {
	tiers := append([]string{}, splitComma(p.EligibleTiers)...)
	return fiber.Map{"id": p.ID, "partner_id": p.PartnerID, "title": p.Title, "description": p.Description,
		"title_en": p.TitleEn, "description_en": p.DescriptionEn, "eligible_tiers": tiers, "companions": p.Companions, "limit_per_day": p.LimitPerDay,
		"limit_per_month": p.LimitPerMonth, "days": append([]string{}, splitComma(p.Days)...), "hours": p.Hours, "active": p.Active, "created_at": p.CreatedAt}
}

func (h *Handler) partnerRedemptions(c *fiber.Ctx) error {
	since, err := parseTimeParam(c, "since")
	if err != nil {
		return err
	}
	if since.IsZero() {
		since = h.now().AddDate(0, -1, 0)
	}
	lines, err := h.partners.Report(c.UserContext(), httpkit.Principal(c), utils.CopyString(c.Params("id")), since)
	if err != nil {
		return err
	}
	if c.Query("format") == "csv" {
		return httpkit.SendCSV(c, "redemptions.csv", reportCSV(lines))
	}
	return c.JSON(fiber.Map{"redemptions": lines, "since": since.Format(time.RFC3339)})
}

func (h *Handler) pairDevice(c *fiber.Ctx) error {
	if _, ok, wait, err := h.limits.Pairing.Take(c.UserContext(), c.IP()); err != nil {
		return err
	} else if !ok {
		h.metrics.Throttled.WithLabelValues("pairing").Inc()
		return httpkit.TooMany(c, wait)
	}
	var in struct {
		Code string `json:"code"`
	}
	if err := httpkit.BindJSON(c, &in); err != nil {
		return err
	}
	k, partnerName, err := h.partners.Pair(c.UserContext(), in.Code)
	if err != nil {
		return err
	}
	return httpkit.Created(c, fiber.Map{"key": k.Key, "key_id": k.ID, "venue_id": k.VenueID, "venue_name": k.VenueName, "partner_name": partnerName})
}

func (h *Handler) deviceMe(c *fiber.Ctx) error {
	d, err := h.partners.Device(c.UserContext(), httpkit.Principal(c))
	if err != nil {
		return err
	}
	perks := make([]fiber.Map, len(d.Perks))
	for i, p := range d.Perks {
		perks[i] = fiber.Map{"id": p.ID, "title": p.Title, "companions": p.Companions}
		if p.TitleEn != "" {
			perks[i]["title_en"] = p.TitleEn
		}
	}
	limit, err := h.partners.OfflineLimit(c.UserContext(), httpkit.Principal(c), httpkit.Principal(c).PartnerID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"venue_name": d.VenueName, "partner_name": d.PartnerName, "perks": perks,
		"offline_max_age_seconds": limit * 60})
}

func (h *Handler) redeem(c *fiber.Ctx) error {
	var in partners.RedeemInput
	if err := httpkit.BindJSON(c, &in); err != nil {
		return err
	}
	r, err := h.partners.Redeem(c.UserContext(), httpkit.Principal(c), utils.CopyString(c.Get("Idempotency-Key")), in)
	if err != nil {
		return err
	}
	if r.Replayed {
		return c.JSON(r)
	}
	return httpkit.Created(c, r)
}

func reportCSV(lines []partners.ReportLine) [][]string {
	rows := [][]string{{"at", "venue", "perk", "party_size", "member", "guest"}}
	for _, l := range lines {
		rows = append(rows, []string{l.At.In(model.JST()).Format(time.DateTime), l.Venue, l.Perk, strconv.Itoa(l.PartySize), l.Member, strconv.FormatBool(l.Guest)})
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

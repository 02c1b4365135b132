package console

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/partners"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// The partner page's edits: HR renames or deactivates a partner (every key
// of a deactivated partner stops at once); HR and the partner's manager
// rename or close a venue and edit a perk. Every form calls the same service
// method as the API's PATCH route, which checks the principal, audits the
// change with before and after, and tells every instance's caches.

// partnerRename renames a partner (HR only).
func (h *Handler) partnerRename(scope partnerScope) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := utils.CopyString(scope.id(c))
		name := consoleForm(c, "name")
		if _, err := h.partners.UpdatePartner(c.UserContext(), httpkit.Principal(c), id, partners.PartnerPatch{Name: &name}); err != nil {
			return h.partnerFail(c, scope, err, partnerExtras{})
		}
		return c.Redirect(scope.base(id)+"?msg=partner_renamed", fiber.StatusSeeOther)
	}
}

// partnerSetActive deactivates (active=0) or reactivates (active=1) a
// partner (HR only).
func (h *Handler) partnerSetActive(scope partnerScope) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := utils.CopyString(scope.id(c))
		active, ok := consoleBool(c, "active")
		if !ok {
			return h.partnerFail(c, scope, model.Invalidf("active", "invalid_active", "active must be 0 or 1"), partnerExtras{})
		}
		if _, err := h.partners.UpdatePartner(c.UserContext(), httpkit.Principal(c), id, partners.PartnerPatch{Active: &active}); err != nil {
			return h.partnerFail(c, scope, err, partnerExtras{})
		}
		msg := "partner_deactivated"
		if active {
			msg = "partner_reactivated"
		}
		return c.Redirect(scope.base(id)+"?msg="+msg, fiber.StatusSeeOther)
	}
}

// venueRename renames a venue of the partner.
func (h *Handler) venueRename(scope partnerScope) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := utils.CopyString(scope.id(c))
		name := consoleForm(c, "name")
		if _, err := h.partners.UpdateVenue(c.UserContext(), httpkit.Principal(c), id, utils.CopyString(c.Params("venue")),
			partners.VenuePatch{Name: &name}); err != nil {
			return h.partnerFail(c, scope, err, partnerExtras{field: "venue_name"})
		}
		return c.Redirect(scope.base(id)+"?msg=venue_renamed", fiber.StatusSeeOther)
	}
}

// venueSetClosed closes (closed=1: its devices stop at once) or reopens
// (closed=0) a venue of the partner.
func (h *Handler) venueSetClosed(scope partnerScope) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := utils.CopyString(scope.id(c))
		closed, ok := consoleBool(c, "closed")
		if !ok {
			return h.partnerFail(c, scope, model.Invalidf("closed", "invalid_closed", "closed must be 0 or 1"), partnerExtras{})
		}
		if _, err := h.partners.UpdateVenue(c.UserContext(), httpkit.Principal(c), id, utils.CopyString(c.Params("venue")),
			partners.VenuePatch{Closed: &closed}); err != nil {
			return h.partnerFail(c, scope, err, partnerExtras{})
		}
		msg := "venue_reopened"
		if closed {
			msg = "venue_closed"
		}
		return c.Redirect(scope.base(id)+"?msg="+msg, fiber.StatusSeeOther)
	}
}

// consoleBool reads a 0/1 form field.
func consoleBool(c *fiber.Ctx, key string) (v, ok bool) {
	switch consoleForm(c, key) {
	case "1":
		return true, true
	case "0":
		return false, true
	}
	return false, false
}

// perkEditView is the perk edit page.
type perkEditView struct {
	Base, PartnerName, PerkID string
	Form                      perkEditForm
	TierChoices               []consoleOption
	AllTiers                  bool
	Days                      []consoleOption
	Field                     string
}

// perkEditForm is every field PATCH …/perks/{perk} takes, as the form
// shows them.
type perkEditForm struct {
	Title, Description, TitleEn, DescriptionEn string
	Companions, LimitPerDay, LimitPerMonth     string
	Hours                                      string
	Active                                     bool
}

func (h *Handler) perkEdit(scope partnerScope) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := utils.CopyString(scope.id(c))
		pk, err := h.findPerk(c, id, utils.CopyString(c.Params("perk")))
		if err != nil {
			return err
		}
		form := perkEditForm{Title: pk.Title, Description: pk.Description, TitleEn: pk.TitleEn, DescriptionEn: pk.DescriptionEn,
			Companions: strconv.Itoa(pk.Companions), LimitPerDay: strconv.Itoa(pk.LimitPerDay), LimitPerMonth: strconv.Itoa(pk.LimitPerMonth),
			Hours: pk.Hours, Active: pk.Active}
		return h.perkEditPage(c, scope, fiber.StatusOK, pk.ID, form, splitList(pk.EligibleTiers), splitList(pk.Days), "", consoleNotice{})
	}
}

// findPerk is one perk of the partner, through the scoped service.
func (h *Handler) findPerk(c *fiber.Ctx, partnerID, perkID string) (*model.Perk, error) {
	ps, err := h.partners.Perks(c.UserContext(), httpkit.Principal(c), partnerID)
	if err != nil {
		return nil, err
	}
	for i := range ps {
		if ps[i].ID == perkID {
			return &ps[i], nil
		}
	}
	return nil, model.NewProblem(model.ErrNotFound, "perk_not_found", "No perk with this id.")
}

func (h *Handler) perkEditPage(c *fiber.Ctx, scope partnerScope, status int, perkID string, form perkEditForm, tiers, days []string,
	field string, n consoleNotice) error {
	ctx := c.UserContext()
	lang := h.render.Lang(c)
	id := utils.CopyString(scope.id(c))
	d, err := h.partners.Get(ctx, httpkit.Principal(c), id)
	if err != nil {
		return err
	}
	inUse, err := h.members.Tiers(ctx)
	if err != nil {
		return err
	}
	v := perkEditView{Base: scope.base(d.ID), PartnerName: d.Name, PerkID: perkID, Form: form, Field: field}
	v.AllTiers, v.TierChoices = h.tierChoices(inUse, tiers)
	on := map[string]bool{}
	for _, dd := range days {
		on[dd] = true
	}
	for _, wd := range append(model.Weekdays()[1:], "sun") {
		v.Days = append(v.Days, consoleOption{Value: wd, Label: h.cat.T(lang, "day."+wd), Selected: on[wd]})
	}
	section := "partners"
	if scope.console == consolePartner {
		section = "partner"
	}
	c.Locals(consolePartnerNameKey, d.Name)
	return h.consolePage(c, status, "admin_perk_edit", section, v, n)
}

// perkUpdate saves the perk form: every field is sent, so the patch names
// them all. A refusal shows the form again as typed, nothing saved.
func (h *Handler) perkUpdate(scope partnerScope) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := utils.CopyString(scope.id(c))
		perkID := utils.CopyString(c.Params("perk"))
		form := perkEditForm{Title: consoleForm(c, "title"), Description: consoleForm(c, "description"), TitleEn: consoleForm(c, "title_en"),
			DescriptionEn: consoleForm(c, "description_en"), Companions: consoleForm(c, "companions"), LimitPerDay: consoleForm(c, "limit_per_day"),
			LimitPerMonth: consoleForm(c, "limit_per_month"), Hours: consoleForm(c, "hours"), Active: consoleForm(c, "active") == "1"}
		tiers, days := consoleFormValues(c, "tiers"), consoleFormValues(c, "days")
		patch := partners.PerkPatch{Title: &form.Title, Description: &form.Description, TitleEn: &form.TitleEn, DescriptionEn: &form.DescriptionEn,
			Hours: &form.Hours, Active: &form.Active, Days: &days}
		if days == nil {
			patch.Days = &[]string{}
		}
		pt := tiers
		for _, t := range tiers {
			if t == "*" {
				pt = []string{"*"}
			}
		}
		patch.EligibleTiers = &pt
		fail := func(err error) error {
			msg, field, status, ok := h.formProblem(h.render.Lang(c), err)
			if !ok || status == fiber.StatusNotFound {
				return err
			}
			return h.perkEditPage(c, scope, status, perkID, form, tiers, days, field, consoleNotice{Text: msg, Tone: "bad"})
		}
		for _, f := range []struct {
			name, v string
			to      **int
		}{{"companions", form.Companions, &patch.Companions}, {"limit_per_day", form.LimitPerDay, &patch.LimitPerDay},
			{"limit_per_month", form.LimitPerMonth, &patch.LimitPerMonth}} {
			n, err := strconv.Atoi(f.v)
			if err != nil {
				return fail(model.Invalidf(f.name, "invalid_number", f.name+" must be a whole number"))
			}
			*f.to = &n
		}
		if _, err := h.partners.UpdatePerk(c.UserContext(), httpkit.Principal(c), id, perkID, patch); err != nil {
			return fail(err)
		}
		return c.Redirect(scope.base(id)+"?msg=perk_updated#perks", fiber.StatusSeeOther)
	}
}

// splitList reads a stored comma-separated list.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// perkWhen says when a perk applies: "Mon, Tue · 11:00-14:00", or "any
// time" when it has no schedule.
func (h *Handler) perkWhen(lang, days, hours string) string {
	var parts []string
	if days != "" {
		var names []string
		for _, d := range model.OrderedDays(days) {
			names = append(names, h.cat.T(lang, "day."+d))
		}
		parts = append(parts, strings.Join(names, h.cat.T(lang, "day.sep")))
	}
	if hours != "" {
		parts = append(parts, hours)
	}
	if len(parts) == 0 {
		return h.cat.T(lang, "admin.perk.any_time")
	}
	return strings.Join(parts, " · ")
}

package console

import (
	"html/template"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/oidc"
	"github.com/alumnipass/alumnipass/internal/partners"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// A partner's page is the same for HR (/admin/partners/{id}) and for its
// own manager (/partner): venues, perks, device keys and pairing. The
// partners service scopes every call by the principal, so a manager's
// requests reach only its own partner whatever they name.

// partnerScope says which console a partner page belongs to.
type partnerScope struct {
	console string
	base    func(id string) string
	id      func(c *fiber.Ctx) string
}

type partnerRow struct {
	ID, Name, KindLabel, CreatedAt string
}

type partnersView struct {
	Rows  []partnerRow
	Kinds []consoleOption
	In    partners.PartnerInput
	Field string
}

func (h *Handler) kindOptions(lang, selected string) []consoleOption {
	var out []consoleOption
	for _, k := range []string{"restaurant", "hotel", "store", "other"} {
		out = append(out, consoleOption{Value: k, Label: h.cat.T(lang, "admin.kind."+k), Selected: k == selected})
	}
	return out
}

func (h *Handler) adminPartners(c *fiber.Ctx) error {
	return h.partnersPage(c, fiber.StatusOK, partners.PartnerInput{Kind: "restaurant"}, "", consoleNotice{})
}

func (h *Handler) partnersPage(c *fiber.Ctx, status int, in partners.PartnerInput, field string, n consoleNotice) error {
	lang := h.render.Lang(c)
	ps, err := h.partners.List(c.UserContext(), httpkit.Principal(c))
	if err != nil {
		return err
	}
	v := partnersView{Kinds: h.kindOptions(lang, in.Kind), In: in, Field: field}
	for _, p := range ps {
		v.Rows = append(v.Rows, partnerRow{ID: p.ID, Name: p.Name, KindLabel: h.consoleLabel(lang, "admin.kind.", p.Kind), CreatedAt: consoleTime(p.CreatedAt)})
	}
	return h.consolePage(c, status, "admin_partners", "partners", v, n)
}

func (h *Handler) adminPartnerCreate(c *fiber.Ctx) error {
	in := partners.PartnerInput{Name: consoleForm(c, "name"), Kind: consoleForm(c, "kind"), VenueName: consoleForm(c, "venue_name")}
	d, err := h.partners.CreatePartner(c.UserContext(), httpkit.Principal(c), in)
	if err != nil {
		msg, field, status, ok := h.formProblem(h.render.Lang(c), err)
		if !ok {
			return err
		}
		return h.partnersPage(c, status, in, field, consoleNotice{Text: msg, Tone: "bad"})
	}
	return c.Redirect("/admin/partners/"+d.ID+"?msg=partner_created", fiber.StatusSeeOther)
}

// partnerView is a partner's page.
type partnerView struct {
	Base, ID, Name, KindLabel string
	HR                        bool
	Active                    bool // false once HR has deactivated the partner
	ActiveKeys                int  // device keys and tokens that stop if it is deactivated
	Venues                    []venueRow
	VenueOptions              []consoleOption
	Perks                     []perkRow
	Keys                      []keyRow
	TierChoices               []consoleOption
	AllTiers                  bool
	Perk                      perkForm
	NewKey                    *partners.IssuedKey
	Pairing                   *pairingView
	Field                     string
	Report                    *partnerReportView
	OfflineMinutes            int // how old a scanner's offline data may be
	OIDCClients               []oidcClientRow
	NewClient                 *oidc.IssuedClient // shown once, with its secret
}

type venueRow struct {
	ID, Name, CreatedAt, ClosedAt string
	Closed                        bool
}

type perkRow struct {
	ID, When                          string
	Title, Description, Tiers, Limits string
	TitleEn, DescriptionEn            string
	Companions                        int
	Active                            bool
}

type keyRow struct {
	ID, Name, Venue, Prefix, CreatedAt, LastUsed, RevokedAt string
	Revoked                                                 bool
	Token                                                   bool // a partner-manager API token, not a venue's device
}

type perkForm struct {
	Title, Description, Companions, LimitPerDay, LimitPerMonth string
	TitleEn, DescriptionEn                                     string
}

type pairingView struct {
	Code, URL, ExpiresAt, Venue string
	QR                          template.URL
}

// partnerExtras is what a POST adds to the partner page it answers with.
type partnerExtras struct {
	newClient *oidc.IssuedClient
	newKey    *partners.IssuedKey
	pairing   *partners.Pairing
	perk      *perkForm
	tiers     []string
	field     string
}

func (h *Handler) partnerDetail(scope partnerScope) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return h.partnerPage(c, scope, fiber.StatusOK, partnerExtras{}, consoleNotice{})
	}
}

func (h *Handler) partnerPage(c *fiber.Ctx, scope partnerScope, status int, x partnerExtras, n consoleNotice) error {
	ctx := c.UserContext()
	lang := h.render.Lang(c)
	p := httpkit.Principal(c)
	id := utils.CopyString(scope.id(c))
	d, err := h.partners.Get(ctx, p, id)
	if err != nil {
		return err
	}
	v := partnerView{Base: scope.base(d.ID), ID: d.ID, Name: d.Name, KindLabel: h.consoleLabel(lang, "admin.kind.", d.Kind),
		HR: scope.console == consoleHR, Active: d.DeactivatedAt == nil, Field: x.field, NewKey: x.newKey, NewClient: x.newClient,
		Perk: perkForm{Companions: "0", LimitPerDay: "1", LimitPerMonth: "0"}}
	if x.perk != nil {
		v.Perk = *x.perk
	}
	if v.OfflineMinutes, err = h.partners.OfflineLimit(ctx, p, d.ID); err != nil {
		return err
	}
	venues := map[string]string{}
	for _, vn := range d.Venues {
		venues[vn.ID] = vn.Name
		v.Venues = append(v.Venues, venueRow{ID: vn.ID, Name: vn.Name, CreatedAt: consoleTime(vn.CreatedAt),
			ClosedAt: consoleTimePtr(vn.ClosedAt), Closed: vn.ClosedAt != nil})
		if vn.ClosedAt == nil {
			v.VenueOptions = append(v.VenueOptions, consoleOption{Value: vn.ID, Label: vn.Name})
		}
	}
	perks, err := h.partners.Perks(ctx, p, d.ID)
	if err != nil {
		return err
	}
	for _, pk := range perks {
		v.Perks = append(v.Perks, h.perkRow(lang, pk))
	}
	keys, err := h.partners.Keys(ctx, p, d.ID)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.Role != model.RoleDevice && k.Role != model.RolePartnerManager {
			continue
		}
		row := keyRow{ID: k.ID, Name: k.Name, Prefix: k.Prefix + "…", CreatedAt: consoleTime(k.CreatedAt), LastUsed: consoleTimePtr(k.LastUsedAt),
			RevokedAt: consoleTimePtr(k.RevokedAt), Revoked: k.RevokedAt != nil, Token: k.Role == model.RolePartnerManager}
		if k.VenueID != nil {
			row.Venue = venues[*k.VenueID]
		}
		if !row.Revoked {
			v.ActiveKeys++
		}
		v.Keys = append(v.Keys, row)
	}
	if v.OIDCClients, err = h.oidcClientRows(ctx, p, d.ID); err != nil {
		return err
	}
	tiers, err := h.members.Tiers(ctx)
	if err != nil {
		return err
	}
	v.AllTiers, v.TierChoices = h.tierChoices(tiers, x.tiers)
	if x.pairing != nil {
		qr, err := consoleQR(x.pairing.URL, 320)
		if err != nil {
			return err
		}
		v.Pairing = &pairingView{Code: x.pairing.Code, URL: x.pairing.URL, ExpiresAt: consoleTime(x.pairing.ExpiresAt), Venue: venues[x.pairing.VenueID], QR: qr}
	}
	tmpl, section := "admin_partner", "partners"
	if scope.console == consolePartner {
		tmpl, section = "partner_home", "partner"
		if v.Report, err = h.partnerReport(c, d.ID); err != nil {
			return err
		}
	}
	c.Locals(consolePartnerNameKey, d.Name)
	return h.consolePage(c, status, tmpl, section, v, n)
}

// tierChoices offers the tiers in use (and the usual ones) as checkboxes;
// "every tier" is the default.
func (h *Handler) tierChoices(inUse, checked []string) (all bool, out []consoleOption) {
	seen := map[string]bool{}
	is := map[string]bool{}
	for _, t := range checked {
		is[t] = true
	}
	all = len(checked) == 0 || is["*"]
	for _, t := range append([]string{"standard", "gold"}, inUse...) {
		if !seen[t] {
			seen[t] = true
			out = append(out, consoleOption{Value: t, Label: t, Selected: is[t]})
		}
	}
	return all, out
}

func (h *Handler) perkRow(lang string, pk model.Perk) perkRow {
	tiers := h.cat.T(lang, "admin.perk.all_tiers")
	if pk.EligibleTiers != "" && pk.EligibleTiers != "*" {
		tiers = strings.ReplaceAll(pk.EligibleTiers, ",", ", ")
	}
	var limits []string
	if pk.LimitPerDay > 0 {
		limits = append(limits, strings.ReplaceAll(h.cat.T(lang, "admin.perk.per_day"), "{n}", strconv.Itoa(pk.LimitPerDay)))
	}
	if pk.LimitPerMonth > 0 {
		limits = append(limits, strings.ReplaceAll(h.cat.T(lang, "admin.perk.per_month"), "{n}", strconv.Itoa(pk.LimitPerMonth)))
	}
	if len(limits) == 0 {
		limits = append(limits, h.cat.T(lang, "admin.perk.no_limit"))
	}
	return perkRow{ID: pk.ID, When: h.perkWhen(lang, pk.Days, pk.Hours), Title: pk.Title, Description: pk.Description, TitleEn: pk.TitleEn, DescriptionEn: pk.DescriptionEn, Tiers: tiers, Limits: strings.Join(limits, " · "), Companions: pk.Companions, Active: pk.Active}
}

// partnerFail shows a refusal on the partner page, or hands other errors on.
func (h *Handler) partnerFail(c *fiber.Ctx, scope partnerScope, err error, x partnerExtras) error {
	msg, field, status, ok := h.formProblem(h.render.Lang(c), err)
	if !ok || status == fiber.StatusNotFound {
		return err
	}
	x.field = field
	return h.partnerPage(c, scope, status, x, consoleNotice{Text: msg, Tone: "bad"})
}

func (h *Handler) partnerVenueAdd(scope partnerScope) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := utils.CopyString(scope.id(c))
		if _, err := h.partners.AddVenue(c.UserContext(), httpkit.Principal(c), id, consoleForm(c, "name")); err != nil {
			return h.partnerFail(c, scope, err, partnerExtras{})
		}
		return c.Redirect(scope.base(id)+"?msg=venue_added", fiber.StatusSeeOther)
	}
}

func (h *Handler) partnerPerkCreate(scope partnerScope) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := utils.CopyString(scope.id(c))
		form := perkForm{Title: consoleForm(c, "title"), Description: consoleForm(c, "description"), Companions: consoleForm(c, "companions"),
			LimitPerDay: consoleForm(c, "limit_per_day"), LimitPerMonth: consoleForm(c, "limit_per_month"),
			TitleEn: consoleForm(c, "title_en"), DescriptionEn: consoleForm(c, "description_en")}
		tiers := consoleFormValues(c, "tiers")
		x := partnerExtras{perk: &form, tiers: tiers}
		in := partners.PerkInput{Title: form.Title, Description: form.Description, TitleEn: form.TitleEn, DescriptionEn: form.DescriptionEn, EligibleTiers: tiers}
		for _, f := range []struct {
			name, v string
			to      *int
		}{{"companions", form.Companions, &in.Companions}, {"limit_per_day", form.LimitPerDay, &in.LimitPerDay}, {"limit_per_month", form.LimitPerMonth, &in.LimitPerMonth}} {
			if f.v == "" {
				continue
			}
			n, err := strconv.Atoi(f.v)
			if err != nil {
				return h.partnerFail(c, scope, model.Invalidf(f.name, "invalid_number", f.name+" must be a whole number"), x)
			}
			*f.to = n
		}
		for _, t := range tiers {
			if t == "*" {
				in.EligibleTiers = []string{"*"}
			}
		}
		if _, err := h.partners.CreatePerk(c.UserContext(), httpkit.Principal(c), id, in); err != nil {
			return h.partnerFail(c, scope, err, x)
		}
		return c.Redirect(scope.base(id)+"?msg=perk_created", fiber.StatusSeeOther)
	}
}

func (h *Handler) partnerKeyCreate(scope partnerScope) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := utils.CopyString(scope.id(c))
		k, err := h.partners.CreateKey(c.UserContext(), httpkit.Principal(c), id, consoleForm(c, "venue_id"), consoleForm(c, "name"))
		if err != nil {
			return h.partnerFail(c, scope, err, partnerExtras{})
		}
		lang := h.render.Lang(c)
		return h.partnerPage(c, scope, fiber.StatusOK, partnerExtras{newKey: k}, consoleNotice{Text: h.cat.T(lang, "admin.keys.created_once"), Tone: "warn"})
	}
}

// partnerTokenCreate issues an API token for the partner's own systems,
// shown once like a device key.
func (h *Handler) partnerTokenCreate(scope partnerScope) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := utils.CopyString(scope.id(c))
		k, err := h.partners.CreateManagerToken(c.UserContext(), httpkit.Principal(c), id, consoleForm(c, "name"))
		if err != nil {
			return h.partnerFail(c, scope, err, partnerExtras{})
		}
		lang := h.render.Lang(c)
		return h.partnerPage(c, scope, fiber.StatusOK, partnerExtras{newKey: k}, consoleNotice{Text: h.cat.T(lang, "admin.keys.created_once"), Tone: "warn"})
	}
}

// partnerOfflineLimit sets how old a scanner's offline data may be.
func (h *Handler) partnerOfflineLimit(scope partnerScope) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := utils.CopyString(scope.id(c))
		minutes, err := strconv.Atoi(consoleForm(c, "minutes"))
		if err != nil {
			minutes = -1 // refused by the service with its message
		}
		if err := h.partners.SetOfflineLimit(c.UserContext(), httpkit.Principal(c), id, minutes); err != nil {
			return h.partnerFail(c, scope, err, partnerExtras{})
		}
		return c.Redirect(scope.base(id)+"?msg=offline_limit_set", fiber.StatusSeeOther)
	}
}

func (h *Handler) partnerKeyRevoke(scope partnerScope) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := utils.CopyString(scope.id(c))
		if err := h.partners.RevokeKey(c.UserContext(), httpkit.Principal(c), id, utils.CopyString(c.Params("key"))); err != nil {
			return h.partnerFail(c, scope, err, partnerExtras{})
		}
		return c.Redirect(scope.base(id)+"?msg=key_revoked", fiber.StatusSeeOther)
	}
}

func (h *Handler) partnerPairing(scope partnerScope) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := utils.CopyString(scope.id(c))
		pr, err := h.partners.CreatePairing(c.UserContext(), httpkit.Principal(c), id, consoleForm(c, "venue_id"), consoleForm(c, "name"), h.cfg.BaseURL)
		if err != nil {
			return h.partnerFail(c, scope, err, partnerExtras{})
		}
		return h.partnerPage(c, scope, fiber.StatusOK, partnerExtras{pairing: pr}, consoleNotice{Text: h.cat.T(h.render.Lang(c), "admin.pairing.created"), Tone: "ok"})
	}
}

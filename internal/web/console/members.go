package console

import (
	"html/template"
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/alumnipass/alumnipass/internal/members"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// memberRow is a member in the list.
type memberRow struct {
	ID, EmployeeNo, Name, Kana, Email, Tier, Status, StatusLabel, DepartedOn string
}

type membersView struct {
	Q, Status, Tier string
	Tiers           []string
	Statuses        []consoleOption
	Rows            []memberRow
	NextURL         string
	FirstURL        string
	InviteURL       string // the confirmation of inviting every member found
}

// option is one choice of a select.
type consoleOption struct {
	Value, Label string
	Selected     bool
}

func (h *Handler) memberRow(lang string, m model.Member) memberRow {
	kana := consoleName(lang, m.FamilyNameKana, m.GivenNameKana)
	return memberRow{ID: m.ID, EmployeeNo: m.EmployeeNo, Name: consoleName(lang, m.FamilyName, m.GivenName), Kana: kana,
		Email: m.Email, Tier: m.Tier, Status: string(m.Status), StatusLabel: h.consoleLabel(lang, "admin.status.", string(m.Status)), DepartedOn: m.DepartedOn}
}

func (h *Handler) statusOptions(lang, selected string) []consoleOption {
	var out []consoleOption
	for _, st := range []model.MemberStatus{model.MemberActive, model.MemberSuspended, model.MemberRevoked} {
		out = append(out, consoleOption{Value: string(st), Label: h.consoleLabel(lang, "admin.status.", string(st)), Selected: selected == string(st)})
	}
	return out
}

func (h *Handler) adminMembers(c *fiber.Ctx) error {
	ctx := c.UserContext()
	lang := h.render.Lang(c)
	v := membersView{Q: utils.CopyString(c.Query("q")), Status: utils.CopyString(c.Query("status")), Tier: utils.CopyString(c.Query("tier"))}
	v.Statuses = h.statusOptions(lang, v.Status)
	tiers, err := h.members.Tiers(ctx)
	if err != nil {
		return err
	}
	v.Tiers = tiers
	cursor := utils.CopyString(c.Query("cursor"))
	ms, next, err := h.members.List(ctx, members.MemberFilter{Query: v.Q, Status: v.Status, Tier: v.Tier, After: cursor, Limit: 50})
	if err != nil {
		msg, _, status, ok := h.formProblem(lang, err)
		if !ok {
			return err
		}
		return h.consolePage(c, status, "admin_members", "members", v, consoleNotice{Text: msg, Tone: "bad"})
	}
	for _, m := range ms {
		v.Rows = append(v.Rows, h.memberRow(lang, m))
	}
	q := url.Values{}
	for k, val := range map[string]string{"q": v.Q, "status": v.Status, "tier": v.Tier} {
		if val != "" {
			q.Set(k, val)
		}
	}
	v.InviteURL = "/admin/invitations/new?" + q.Encode()
	if cursor != "" {
		v.FirstURL = "/admin/members?" + q.Encode()
	}
	if next != "" {
		q.Set("cursor", next)
		v.NextURL = "/admin/members?" + q.Encode()
	}
	return h.consolePage(c, fiber.StatusOK, "admin_members", "members", v, consoleNotice{})
}

type memberFormView struct {
	ID      string // set when editing an existing member
	In      members.Input
	Tiers   []string
	Field   string
	Locales []consoleOption
}

func (h *Handler) localeOptions(lang, selected string) []consoleOption {
	if selected == "" {
		selected = "ja"
	}
	return []consoleOption{
		{Value: "ja", Label: h.cat.T(lang, "admin.locale.ja"), Selected: selected == "ja"},
		{Value: "en", Label: h.cat.T(lang, "admin.locale.en"), Selected: selected == "en"},
	}
}

func (h *Handler) adminMemberNew(c *fiber.Ctx) error {
	return h.memberForm(c, fiber.StatusOK, members.Input{Tier: "standard"}, "", consoleNotice{})
}

func (h *Handler) memberForm(c *fiber.Ctx, status int, in members.Input, field string, n consoleNotice) error {
	tiers, err := h.members.Tiers(c.UserContext())
	if err != nil {
		return err
	}
	v := memberFormView{In: in, Tiers: tiers, Field: field, Locales: h.localeOptions(h.render.Lang(c), in.Locale)}
	return h.consolePage(c, status, "admin_member_new", "members", v, n)
}

// adminMemberEdit shows the member's fields for editing (the employee
// number is shown but cannot change).
func (h *Handler) adminMemberEdit(c *fiber.Ctx) error {
	id := utils.CopyString(c.Params("id"))
	d, err := h.members.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	in := members.Input{EmployeeNo: d.EmployeeNo, FamilyName: d.FamilyName, GivenName: d.GivenName, FamilyNameKana: d.FamilyNameKana,
		GivenNameKana: d.GivenNameKana, Email: d.Email, Tier: d.Tier, DepartedOn: d.DepartedOn, Locale: d.Locale}
	return h.memberEditForm(c, fiber.StatusOK, id, in, "", consoleNotice{})
}

func (h *Handler) memberEditForm(c *fiber.Ctx, status int, id string, in members.Input, field string, n consoleNotice) error {
	tiers, err := h.members.Tiers(c.UserContext())
	if err != nil {
		return err
	}
	v := memberFormView{ID: id, In: in, Tiers: tiers, Field: field, Locales: h.localeOptions(h.render.Lang(c), in.Locale)}
	return h.consolePage(c, status, "admin_member_new", "members", v, n)
}

// adminMemberUpdate saves an edit: every field of the form is sent, so the
// patch names them all; the members service audits what changed and tells
// every instance (a new tier reaches the next scan).
func (h *Handler) adminMemberUpdate(c *fiber.Ctx) error {
	id := utils.CopyString(c.Params("id"))
	in := members.Input{FamilyName: consoleForm(c, "family_name"), GivenName: consoleForm(c, "given_name"),
		FamilyNameKana: consoleForm(c, "family_name_kana"), GivenNameKana: consoleForm(c, "given_name_kana"), Email: consoleForm(c, "email"),
		Tier: consoleForm(c, "tier"), DepartedOn: consoleForm(c, "departed_on"), Locale: consoleForm(c, "locale")}
	patch := members.Patch{FamilyName: &in.FamilyName, GivenName: &in.GivenName, FamilyNameKana: &in.FamilyNameKana,
		GivenNameKana: &in.GivenNameKana, Email: &in.Email, Tier: &in.Tier, DepartedOn: &in.DepartedOn, Locale: &in.Locale}
	if _, err := h.members.Update(c.UserContext(), httpkit.Principal(c), id, patch); err != nil {
		msg, field, status, ok := h.formProblem(h.render.Lang(c), err)
		if !ok || status == fiber.StatusNotFound {
			return err
		}
		if d, gerr := h.members.Get(c.UserContext(), id); gerr == nil {
			in.EmployeeNo = d.EmployeeNo
		}
		return h.memberEditForm(c, status, id, in, field, consoleNotice{Text: msg, Tone: "bad"})
	}
	return c.Redirect("/admin/members/"+id+"?msg=member_updated", fiber.StatusSeeOther)
}

func (h *Handler) adminMemberCreate(c *fiber.Ctx) error {
	in := members.Input{EmployeeNo: consoleForm(c, "employee_no"), FamilyName: consoleForm(c, "family_name"), GivenName: consoleForm(c, "given_name"),
		FamilyNameKana: consoleForm(c, "family_name_kana"), GivenNameKana: consoleForm(c, "given_name_kana"), Email: consoleForm(c, "email"),
		Tier: consoleForm(c, "tier"), DepartedOn: consoleForm(c, "departed_on"), Locale: consoleForm(c, "locale")}
	m, err := h.members.Create(c.UserContext(), httpkit.Principal(c), in)
	if err != nil {
		msg, field, status, ok := h.formProblem(h.render.Lang(c), err)
		if !ok {
			return err
		}
		return h.memberForm(c, status, in, field, consoleNotice{Text: msg, Tone: "bad"})
	}
	return c.Redirect("/admin/members/"+m.ID+"?msg=member_created", fiber.StatusSeeOther)
}

// memberView is the member detail page.
type memberView struct {
	memberRow
	Locale, LocaleLabel, StatusReason, CreatedAt, UpdatedAt string
	HasActiveCard                                           bool
	Cards                                                   []cardRow
	Guests                                                  []guestRow
	Redemptions                                             []redemptionRow
	Audit                                                   auditTable
	Field                                                   string
}

type cardRow struct {
	ID, Short, Status, StatusLabel, IssuedAt, ExpiresAt, EnrollBy, EnrolledAt, Consent string
}

type guestRow struct {
	Short, PartySize, ValidUntil, Uses, Status, StatusLabel, CreatedAt string
}

type redemptionRow struct {
	At, Venue, Perk string
	PartySize       int
	Guest           bool
}

func (h *Handler) adminMember(c *fiber.Ctx) error {
	return h.memberPage(c, fiber.StatusOK, utils.CopyString(c.Params("id")), "", consoleNotice{})
}

func (h *Handler) memberPage(c *fiber.Ctx, status int, id, field string, n consoleNotice) error {
	ctx := c.UserContext()
	lang := h.render.Lang(c)
	d, err := h.members.Get(ctx, id)
	if err != nil {
		return err
	}
	v := memberView{memberRow: h.memberRow(lang, *d.Member), Locale: d.Locale, LocaleLabel: h.cat.T(lang, "admin.locale."+d.Locale),
		StatusReason: d.StatusReason, CreatedAt: consoleTime(d.CreatedAt), UpdatedAt: consoleTime(d.UpdatedAt), Field: field}
	for _, cd := range d.Cards {
		row := cardRow{ID: cd.ID, Short: consoleShortID(cd.ID), Status: string(cd.Status), StatusLabel: h.consoleLabel(lang, "admin.card_status.", string(cd.Status)),
			IssuedAt: consoleTime(cd.IssuedAt), ExpiresAt: consoleTime(cd.ExpiresAt), EnrolledAt: consoleTimePtr(cd.EnrolledAt)}
		if cd.EnrolledAt == nil {
			row.EnrollBy = consoleTime(cd.EnrollExpiresAt)
		}
		if cd.ConsentVersion != nil {
			row.Consent = *cd.ConsentVersion + " · " + consoleTimePtr(cd.ConsentAt)
		}
		if cd.Status == model.CardActive {
			v.HasActiveCard = true
		}
		v.Cards = append(v.Cards, row)
	}
	gs, err := h.members.GuestPasses(ctx, id, 20)
	if err != nil {
		return err
	}
	for _, g := range gs {
		v.Guests = append(v.Guests, guestRow{Short: consoleShortID(g.ID), PartySize: consoleItoa(g.PartySize), ValidUntil: consoleTime(g.ValidUntil),
			Uses: consoleItoa(g.Uses) + " / " + consoleItoa(g.MaxUses), Status: g.Status, StatusLabel: h.consoleLabel(lang, "admin.guest_status.", g.Status), CreatedAt: consoleTime(g.CreatedAt)})
	}
	rs, err := h.members.Redemptions(ctx, id, 20)
	if err != nil {
		return err
	}
	for _, r := range rs {
		v.Redemptions = append(v.Redemptions, redemptionRow{At: consoleTime(r.At), Venue: r.VenueName, Perk: r.PerkTitle, PartySize: r.PartySize, Guest: r.Guest})
	}
	es, err := h.members.Audit(ctx, members.AuditFilter{TargetType: "member", TargetID: id, Limit: 30})
	if err != nil {
		return err
	}
	v.Audit = h.auditRows(lang, es)
	return h.consolePage(c, status, "admin_member", "members", v, n)
}

// adminMemberStatus revokes, suspends or reinstates after the page's
// confirmation step.
func (h *Handler) adminMemberStatus(action string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := utils.CopyString(c.Params("id"))
		_, err := h.members.ChangeStatus(c.UserContext(), httpkit.Principal(c), id, action, consoleForm(c, "reason"))
		if err != nil {
			msg, field, status, ok := h.formProblem(h.render.Lang(c), err)
			if !ok || status == fiber.StatusNotFound {
				return err
			}
			return h.memberPage(c, status, id, field, consoleNotice{Text: msg, Tone: "bad"})
		}
		return c.Redirect("/admin/members/"+id+"?msg=member_"+action, fiber.StatusSeeOther)
	}
}

// issuedView is the page shown once after a card is issued: the enrolment
// link, its QR, and the ways to hand it over.
type issuedView struct {
	MemberID, Name, Email, LocaleLabel string
	URL, Token, ExpiresAt              string
	QR                                 template.URL
	QRFile                             string
	Replaced                           bool
	MailVia                            string
}

func (h *Handler) adminCardIssue(c *fiber.Ctx) error {
	id := utils.CopyString(c.Params("id"))
	out, err := h.members.IssueCard(c.UserContext(), httpkit.Principal(c), id)
	if err != nil {
		msg, _, status, ok := h.formProblem(h.render.Lang(c), err)
		if !ok || status == fiber.StatusNotFound {
			return err
		}
		return h.memberPage(c, status, id, "", consoleNotice{Text: msg, Tone: "bad"})
	}
	d, err := h.members.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return h.issuedPage(c, d.Member, out.EnrollmentToken, out.EnrollmentURL, out.ExpiresAt.In(model.JST()).Format("2006-01-02 15:04"), out.Replaced != "", consoleNotice{})
}

func (h *Handler) issuedPage(c *fiber.Ctx, m *model.Member, token, link, expires string, replaced bool, n consoleNotice) error {
	lang := h.render.Lang(c)
	qr, err := consoleQR(link, 320)
	if err != nil {
		return err
	}
	v := issuedView{MemberID: m.ID, Name: consoleName(lang, m.FamilyName, m.GivenName), Email: m.Email,
		LocaleLabel: h.cat.T(lang, "admin.locale."+m.Locale), URL: link, Token: token, ExpiresAt: expires, QR: qr,
		QRFile: "alumnipass-" + m.EmployeeNo + ".png", Replaced: replaced, MailVia: h.mailVia()}
	if n.Text == "" {
		n = consoleNotice{Text: h.cat.T(lang, "admin.issued.once"), Tone: "warn"}
	}
	return h.consolePage(c, fiber.StatusOK, "admin_card_issued", "members", v, n)
}

func consoleItoa(n int) string { return strconv.Itoa(n) }

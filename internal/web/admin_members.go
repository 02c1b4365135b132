package web

import (
	"html/template"
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/alumnipass/alumnipass/internal/members"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
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
}

// option is one choice of a select.
type consoleOption struct {
	Value, Label string
	Selected     bool
}

func (s *Server) memberRow(lang string, m model.Member) memberRow {
	kana := consoleName(lang, m.FamilyNameKana, m.GivenNameKana)
	return memberRow{ID: m.ID, EmployeeNo: m.EmployeeNo, Name: consoleName(lang, m.FamilyName, m.GivenName), Kana: kana,
		Email: m.Email, Tier: m.Tier, Status: string(m.Status), StatusLabel: s.consoleLabel(lang, "admin.status.", string(m.Status)), DepartedOn: m.DepartedOn}
}

func (s *Server) statusOptions(lang, selected string) []consoleOption {
	var out []consoleOption
	for _, st := range []model.MemberStatus{model.MemberActive, model.MemberSuspended, model.MemberRevoked} {
		out = append(out, consoleOption{Value: string(st), Label: s.consoleLabel(lang, "admin.status.", string(st)), Selected: selected == string(st)})
	}
	return out
}

func (s *Server) adminMembers(c *fiber.Ctx) error {
	ctx := c.UserContext()
	lang := s.render.Lang(c)
	v := membersView{Q: utils.CopyString(c.Query("q")), Status: utils.CopyString(c.Query("status")), Tier: utils.CopyString(c.Query("tier"))}
	v.Statuses = s.statusOptions(lang, v.Status)
	tiers, err := s.svc.Members.Tiers(ctx)
	if err != nil {
		return err
	}
	v.Tiers = tiers
	cursor := utils.CopyString(c.Query("cursor"))
	ms, next, err := s.svc.Members.List(ctx, store.MemberFilter{Query: v.Q, Status: v.Status, Tier: v.Tier, After: cursor, Limit: 50})
	if err != nil {
		msg, _, status, ok := s.formProblem(lang, err)
		if !ok {
			return err
		}
		return s.consolePage(c, status, "admin_members", "members", v, consoleNotice{Text: msg, Tone: "bad"})
	}
	for _, m := range ms {
		v.Rows = append(v.Rows, s.memberRow(lang, m))
	}
	q := url.Values{}
	for k, val := range map[string]string{"q": v.Q, "status": v.Status, "tier": v.Tier} {
		if val != "" {
			q.Set(k, val)
		}
	}
	if cursor != "" {
		v.FirstURL = "/admin/members?" + q.Encode()
	}
	if next != "" {
		q.Set("cursor", next)
		v.NextURL = "/admin/members?" + q.Encode()
	}
	return s.consolePage(c, fiber.StatusOK, "admin_members", "members", v, consoleNotice{})
}

type memberFormView struct {
	In      members.Input
	Tiers   []string
	Field   string
	Locales []consoleOption
}

func (s *Server) localeOptions(lang, selected string) []consoleOption {
	if selected == "" {
		selected = "ja"
	}
	return []consoleOption{
		{Value: "ja", Label: s.cat.T(lang, "admin.locale.ja"), Selected: selected == "ja"},
		{Value: "en", Label: s.cat.T(lang, "admin.locale.en"), Selected: selected == "en"},
	}
}

func (s *Server) adminMemberNew(c *fiber.Ctx) error {
	return s.memberForm(c, fiber.StatusOK, members.Input{Tier: "standard"}, "", consoleNotice{})
}

func (s *Server) memberForm(c *fiber.Ctx, status int, in members.Input, field string, n consoleNotice) error {
	tiers, err := s.svc.Members.Tiers(c.UserContext())
	if err != nil {
		return err
	}
	v := memberFormView{In: in, Tiers: tiers, Field: field, Locales: s.localeOptions(s.render.Lang(c), in.Locale)}
	return s.consolePage(c, status, "admin_member_new", "members", v, n)
}

func (s *Server) adminMemberCreate(c *fiber.Ctx) error {
	in := members.Input{EmployeeNo: consoleForm(c, "employee_no"), FamilyName: consoleForm(c, "family_name"), GivenName: consoleForm(c, "given_name"),
		FamilyNameKana: consoleForm(c, "family_name_kana"), GivenNameKana: consoleForm(c, "given_name_kana"), Email: consoleForm(c, "email"),
		Tier: consoleForm(c, "tier"), DepartedOn: consoleForm(c, "departed_on"), Locale: consoleForm(c, "locale")}
	m, err := s.svc.Members.Create(c.UserContext(), httpkit.Principal(c), in)
	if err != nil {
		msg, field, status, ok := s.formProblem(s.render.Lang(c), err)
		if !ok {
			return err
		}
		return s.memberForm(c, status, in, field, consoleNotice{Text: msg, Tone: "bad"})
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

func (s *Server) adminMember(c *fiber.Ctx) error {
	return s.memberPage(c, fiber.StatusOK, utils.CopyString(c.Params("id")), "", consoleNotice{})
}

func (s *Server) memberPage(c *fiber.Ctx, status int, id, field string, n consoleNotice) error {
	ctx := c.UserContext()
	lang := s.render.Lang(c)
	d, err := s.svc.Members.Get(ctx, id)
	if err != nil {
		return err
	}
	v := memberView{memberRow: s.memberRow(lang, *d.Member), Locale: d.Locale, LocaleLabel: s.cat.T(lang, "admin.locale."+d.Locale),
		StatusReason: d.StatusReason, CreatedAt: consoleTime(d.CreatedAt), UpdatedAt: consoleTime(d.UpdatedAt), Field: field}
	for _, cd := range d.Cards {
		row := cardRow{ID: cd.ID, Short: consoleShortID(cd.ID), Status: string(cd.Status), StatusLabel: s.consoleLabel(lang, "admin.card_status.", string(cd.Status)),
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
	gs, err := s.svc.Members.GuestPasses(ctx, id, 20)
	if err != nil {
		return err
	}
	for _, g := range gs {
		v.Guests = append(v.Guests, guestRow{Short: consoleShortID(g.ID), PartySize: consoleItoa(g.PartySize), ValidUntil: consoleTime(g.ValidUntil),
			Uses: consoleItoa(g.Uses) + " / " + consoleItoa(g.MaxUses), Status: g.Status, StatusLabel: s.consoleLabel(lang, "admin.guest_status.", g.Status), CreatedAt: consoleTime(g.CreatedAt)})
	}
	rs, err := s.svc.Members.Redemptions(ctx, id, 20)
	if err != nil {
		return err
	}
	for _, r := range rs {
		v.Redemptions = append(v.Redemptions, redemptionRow{At: consoleTime(r.At), Venue: r.VenueName, Perk: r.PerkTitle, PartySize: r.PartySize, Guest: r.Guest})
	}
	es, err := s.svc.Members.Audit(ctx, store.AuditFilter{TargetType: "member", TargetID: id, Limit: 30})
	if err != nil {
		return err
	}
	v.Audit = s.auditRows(lang, es)
	return s.consolePage(c, status, "admin_member", "members", v, n)
}

// adminMemberStatus revokes, suspends or reinstates after the page's
// confirmation step.
func (s *Server) adminMemberStatus(action string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := utils.CopyString(c.Params("id"))
		_, err := s.svc.Members.ChangeStatus(c.UserContext(), httpkit.Principal(c), id, action, consoleForm(c, "reason"))
		if err != nil {
			msg, field, status, ok := s.formProblem(s.render.Lang(c), err)
			if !ok || status == fiber.StatusNotFound {
				return err
			}
			return s.memberPage(c, status, id, field, consoleNotice{Text: msg, Tone: "bad"})
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

func (s *Server) adminCardIssue(c *fiber.Ctx) error {
	id := utils.CopyString(c.Params("id"))
	out, err := s.svc.Members.IssueCard(c.UserContext(), httpkit.Principal(c), id)
	if err != nil {
		msg, _, status, ok := s.formProblem(s.render.Lang(c), err)
		if !ok || status == fiber.StatusNotFound {
			return err
		}
		return s.memberPage(c, status, id, "", consoleNotice{Text: msg, Tone: "bad"})
	}
	d, err := s.svc.Members.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return s.issuedPage(c, d.Member, out.EnrollmentToken, out.EnrollmentURL, out.ExpiresAt.In(jst()).Format("2006-01-02 15:04"), out.Replaced != "", consoleNotice{})
}

func (s *Server) issuedPage(c *fiber.Ctx, m *model.Member, token, link, expires string, replaced bool, n consoleNotice) error {
	lang := s.render.Lang(c)
	qr, err := consoleQR(link, 320)
	if err != nil {
		return err
	}
	v := issuedView{MemberID: m.ID, Name: consoleName(lang, m.FamilyName, m.GivenName), Email: m.Email,
		LocaleLabel: s.cat.T(lang, "admin.locale."+m.Locale), URL: link, Token: token, ExpiresAt: expires, QR: qr,
		QRFile: "alumnipass-" + m.EmployeeNo + ".png", Replaced: replaced, MailVia: s.mailVia()}
	if n.Text == "" {
		n = consoleNotice{Text: s.cat.T(lang, "admin.issued.once"), Tone: "warn"}
	}
	return s.consolePage(c, fiber.StatusOK, "admin_card_issued", "members", v, n)
}

func consoleItoa(n int) string { return strconv.Itoa(n) }

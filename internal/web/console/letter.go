package console

import (
	"context"
	"html/template"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/alumnipass/alumnipass/internal/mailer"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// The enrolment token is shown once, on the page that answers the issue.
// That page's forms send it back to print the letter or send the e-mail;
// both check again that it is this member's current, unused token, so the
// token never travels in a URL and never reaches another member.

// letterView is the printable enrolment letter, in the member's language.
type letterView struct {
	MemberID  string
	Name      string
	URL       string
	ExpiresAt string
	QR        template.URL
	QRFile    string
	Company   string // ALUMNIPASS_COMPANY_NAME(_EN): who writes; empty = not configured
	Issuer    string
	Date      string
	// The toolbar above the letter speaks HR's language.
	PrintLabel, BackLabel, DownloadLabel, ToolbarHint string
}

func (h *Handler) adminLetter(c *fiber.Ctx) error {
	id := utils.CopyString(c.Params("id"))
	token := consoleForm(c, "token")
	m, card, err := h.members.PendingEnrollment(c.UserContext(), id, token)
	if err != nil {
		return err
	}
	link := h.cfg.BaseURL + "/w/enroll/" + token
	qr, err := consoleQR(link, 480)
	if err != nil {
		return err
	}
	hrLang := h.render.Lang(c)
	ml := consoleMemberLang(m)
	v := letterView{MemberID: m.ID, Name: consoleName(ml, m.FamilyName, m.GivenName), URL: link,
		ExpiresAt: consoleLetterDate(ml, card.EnrollExpiresAt), QR: qr, QRFile: "alumnipass-" + m.EmployeeNo + ".png",
		Company: h.companyName(ml), Issuer: h.cat.T(ml, "admin.letter.issuer"), Date: consoleLetterDate(ml, h.now()),
		PrintLabel: h.cat.T(hrLang, "admin.letter.print"), BackLabel: h.cat.T(hrLang, "admin.letter.back"),
		DownloadLabel: h.cat.T(hrLang, "admin.issued.download_qr"), ToolbarHint: h.cat.T(hrLang, "admin.letter.toolbar_hint")}
	sess := consoleSession(c)
	return h.render.Render(c, fiber.StatusOK, "admin_letter", httpkit.PageData{Lang: ml, CSRF: sess.CSRF, Page: v})
}

// companyName is the company's name in a member's language, as configured
// (ALUMNIPASS_COMPANY_NAME, ALUMNIPASS_COMPANY_NAME_EN).
func (h *Handler) companyName(lang string) string {
	if lang == "en" {
		return h.cfg.CompanyNameEn
	}
	return h.cfg.CompanyName
}

// consoleSignature is how a letter or an e-mail to a member is signed: the
// company's name, when configured, above the department.
func (h *Handler) consoleSignature(lang string) string {
	dept := h.cat.T(lang, "admin.letter.issuer")
	if c := h.companyName(lang); c != "" {
		return c + "\n" + dept
	}
	return dept
}

// memberLang is the language to write to a member in.
func consoleMemberLang(m *model.Member) string {
	if m.Locale == "en" {
		return "en"
	}
	return "ja"
}

// letterDate writes a date as a letter does: 2026年4月1日 or 1 April 2026.
func consoleLetterDate(lang string, t time.Time) string {
	t = t.In(model.JST())
	if lang == "en" {
		return t.Format("2 January 2006")
	}
	return t.Format("2006年1月2日")
}

// consoleMailer is the mailer for the configured SMTP server or outbox.
func (h *Handler) consoleMailer() (*mailer.Mailer, error) { return httpkit.NewMailer(h.cfg, h.now) }

// mailVia says how e-mail leaves: "smtp" or "outbox".
func (h *Handler) mailVia() string {
	if h.cfg.SMTPURL != "" {
		return "smtp"
	}
	return "outbox"
}

func (h *Handler) adminSendEnrollment(c *fiber.Ctx) error {
	ctx := c.UserContext()
	id := utils.CopyString(c.Params("id"))
	token := consoleForm(c, "token")
	m, card, err := h.members.PendingEnrollment(ctx, id, token)
	if err != nil {
		return err
	}
	link := h.cfg.BaseURL + "/w/enroll/" + token
	mail, err := h.consoleMailer()
	if err != nil {
		return err
	}
	ml := consoleMemberLang(m)
	body := strings.NewReplacer("{name}", consoleName(ml, m.FamilyName, m.GivenName), "{url}", link,
		"{expires}", consoleLetterDate(ml, card.EnrollExpiresAt), "{issuer}", h.consoleSignature(ml)).Replace(h.cat.T(ml, "admin.mail.body"))
	sendCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	lang := h.render.Lang(c)
	expires := card.EnrollExpiresAt.In(model.JST()).Format("2006-01-02 15:04")
	if _, err := mail.Send(sendCtx, mailer.Message{To: m.Email, ToName: consoleName(ml, m.FamilyName, m.GivenName),
		Subject: h.cat.T(ml, "admin.mail.subject"), Body: body}); err != nil {
		h.log.Warn("send enrolment e-mail", "request_id", httpkit.RequestID(c), "member_id", m.ID, "err", err)
		return h.issuedPage(c, m, token, link, expires, false, consoleNotice{Text: h.cat.T(lang, "admin.issued.send_failed"), Tone: "bad"})
	}
	if err := h.members.RecordEnrollmentSent(ctx, httpkit.Principal(c), m.ID, card.ID, m.Email, mail.Via()); err != nil {
		return err
	}
	msg := strings.ReplaceAll(h.cat.T(lang, "admin.issued.sent_"+mail.Via()), "{email}", m.Email)
	return h.issuedPage(c, m, token, link, expires, false, consoleNotice{Text: msg, Tone: "ok"})
}

package web

import (
	"context"
	"html/template"
	"net/url"
	"path/filepath"
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

func (s *Server) adminLetter(c *fiber.Ctx) error {
	id := utils.CopyString(c.Params("id"))
	token := consoleForm(c, "token")
	m, card, err := s.svc.Members.PendingEnrollment(c.UserContext(), id, token)
	if err != nil {
		return err
	}
	link := s.cfg.BaseURL + "/w/enroll/" + token
	qr, err := consoleQR(link, 480)
	if err != nil {
		return err
	}
	hrLang := s.render.Lang(c)
	ml := consoleMemberLang(m)
	v := letterView{MemberID: m.ID, Name: consoleName(ml, m.FamilyName, m.GivenName), URL: link,
		ExpiresAt: consoleLetterDate(ml, card.EnrollExpiresAt), QR: qr, QRFile: "alumnipass-" + m.EmployeeNo + ".png",
		Company: s.companyName(ml), Issuer: s.cat.T(ml, "admin.letter.issuer"), Date: consoleLetterDate(ml, s.now()),
		PrintLabel: s.cat.T(hrLang, "admin.letter.print"), BackLabel: s.cat.T(hrLang, "admin.letter.back"),
		DownloadLabel: s.cat.T(hrLang, "admin.issued.download_qr"), ToolbarHint: s.cat.T(hrLang, "admin.letter.toolbar_hint")}
	sess := consoleSession(c)
	return s.render.Render(c, fiber.StatusOK, "admin_letter", httpkit.PageData{Lang: ml, CSRF: sess.CSRF, Page: v})
}

// companyName is the company's name in a member's language, as configured
// (ALUMNIPASS_COMPANY_NAME, ALUMNIPASS_COMPANY_NAME_EN).
func (s *Server) companyName(lang string) string {
	if lang == "en" {
		return s.cfg.CompanyNameEn
	}
	return s.cfg.CompanyName
}

// consoleSignature is how a letter or an e-mail to a member is signed: the
// company's name, when configured, above the department.
func (s *Server) consoleSignature(lang string) string {
	dept := s.cat.T(lang, "admin.letter.issuer")
	if c := s.companyName(lang); c != "" {
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
	t = t.In(jst())
	if lang == "en" {
		return t.Format("2 January 2006")
	}
	return t.Format("2006年1月2日")
}

// consoleMailer is the mailer for the configured SMTP server or outbox.
func (s *Server) consoleMailer() (*mailer.Mailer, error) {
	from := "alumnipass@localhost"
	if u, err := url.Parse(s.cfg.BaseURL); err == nil && u.Hostname() != "" {
		from = "alumnipass@" + u.Hostname()
	}
	return mailer.New(s.cfg.SMTPURL, filepath.Join(s.cfg.DataDir, "outbox"), from, s.now)
}

// mailVia says how e-mail leaves: "smtp" or "outbox".
func (s *Server) mailVia() string {
	if s.cfg.SMTPURL != "" {
		return "smtp"
	}
	return "outbox"
}

func (s *Server) adminSendEnrollment(c *fiber.Ctx) error {
	ctx := c.UserContext()
	id := utils.CopyString(c.Params("id"))
	token := consoleForm(c, "token")
	m, card, err := s.svc.Members.PendingEnrollment(ctx, id, token)
	if err != nil {
		return err
	}
	link := s.cfg.BaseURL + "/w/enroll/" + token
	mail, err := s.consoleMailer()
	if err != nil {
		return err
	}
	ml := consoleMemberLang(m)
	body := strings.NewReplacer("{name}", consoleName(ml, m.FamilyName, m.GivenName), "{url}", link,
		"{expires}", consoleLetterDate(ml, card.EnrollExpiresAt), "{issuer}", s.consoleSignature(ml)).Replace(s.cat.T(ml, "admin.mail.body"))
	sendCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	lang := s.render.Lang(c)
	expires := card.EnrollExpiresAt.In(jst()).Format("2006-01-02 15:04")
	if _, err := mail.Send(sendCtx, mailer.Message{To: m.Email, ToName: consoleName(ml, m.FamilyName, m.GivenName),
		Subject: s.cat.T(ml, "admin.mail.subject"), Body: body}); err != nil {
		s.log.Warn("send enrolment e-mail", "request_id", consoleRequestID(c), "member_id", m.ID, "err", err)
		return s.issuedPage(c, m, token, link, expires, false, consoleNotice{Text: s.cat.T(lang, "admin.issued.send_failed"), Tone: "bad"})
	}
	if err := s.svc.Members.RecordEnrollmentSent(ctx, httpkit.Principal(c), m.ID, card.ID, m.Email, mail.Via()); err != nil {
		return err
	}
	msg := strings.ReplaceAll(s.cat.T(lang, "admin.issued.sent_"+mail.Via()), "{email}", m.Email)
	return s.issuedPage(c, m, token, link, expires, false, consoleNotice{Text: msg, Tone: "ok"})
}

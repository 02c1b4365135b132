package console

import (
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"github.com/skip2/go-qrcode"

	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// The console pages (HR's /admin and the partner manager's /partner) share
// a top bar, a notice banner and a few blocks, defined once in
// templates/admin_partials.html and added here to each console page's
// template set. Templates only format: every name, date and label is made
// in Go, so the templates need no functions beyond t, json and join.

const consolePartials = "templates/admin_partials.html"

// loadConsoleTemplates adds the shared console blocks to every admin_* and
// partner_* page parsed by parsePages.
func (h *Handler) loadConsoleTemplates() error {
	partials, err := fs.ReadFile(h.static, consolePartials)
	if err != nil {
		return err
	}
	return h.render.AddPartials(string(partials), func(name string) bool {
		return name != "admin_partials" && (strings.HasPrefix(name, "admin_") || strings.HasPrefix(name, "partner_"))
	})
}

// consoleChrome is what the shared top bar and banner show; it travels as
// pageData.User.
type consoleChrome struct {
	Console     string // "admin" or "partner"
	Section     string // the current tab
	Name        string
	Email       string
	Role        string
	CanWrite    bool
	IsAdmin     bool
	PartnerName string
	LangURL     string // "" on pages answering a POST
	Notice      string
	NoticeTone  string // ok, bad, warn, info
}

// notice is a banner above a page's content.
type consoleNotice struct {
	Text string
	Tone string
}

// consoleSession is the signed-in console user set by consoleGuard.
func consoleSession(c *fiber.Ctx) *auth.Session {
	s, _ := c.Locals(consoleSessionKey).(*auth.Session)
	return s
}

// consolePage renders a console page with its chrome.
func (h *Handler) consolePage(c *fiber.Ctx, status int, tmpl, section string, page any, n consoleNotice) error {
	sess := consoleSession(c)
	lang := h.render.Lang(c)
	ch := consoleChrome{Console: "admin", Section: section}
	if sess != nil {
		a := sess.Admin
		ch.Name, ch.Email, ch.Role = a.Name, a.Email, a.Role
		ch.CanWrite = a.Role == model.RoleAdmin || a.Role == model.RoleHR || a.Role == model.RolePartnerManager
		ch.IsAdmin = a.Role == model.RoleAdmin
		if a.Role == model.RolePartnerManager {
			ch.Console = "partner"
		}
	}
	if pn, ok := c.Locals(consolePartnerNameKey).(string); ok {
		ch.PartnerName = pn
	}
	if c.Method() == fiber.MethodGet {
		ch.LangURL = consoleLangURL(c, lang)
	}
	if n.Text == "" {
		if key := c.Query("msg"); key != "" && len(key) < 40 {
			if msg := h.cat.T(lang, "admin.msg."+key); msg != "admin.msg."+key {
				n = consoleNotice{Text: msg, Tone: "ok"}
			}
		}
	}
	ch.Notice, ch.NoticeTone = n.Text, n.Tone
	if ch.NoticeTone == "" {
		ch.NoticeTone = "info"
	}
	csrf := ""
	if sess != nil {
		csrf = sess.CSRF
	}
	return h.render.Render(c, status, tmpl, httpkit.PageData{Lang: lang, CSRF: csrf, Page: page, User: ch})
}

// consoleLangURL is this page in the other language, keeping its query
// (search, filters, paging) but not a one-time message.
func consoleLangURL(c *fiber.Ctx, lang string) string {
	q, _ := url.ParseQuery(string(c.Request().URI().QueryString()))
	q.Del("msg")
	other := "en"
	if lang == "en" {
		other = "ja"
	}
	q.Set("lang", other)
	return c.Path() + "?" + q.Encode()
}

// formProblem turns a refusal a person can act on into a message in the
// page's language and the field it is about. ok is false for any other
// error, which the caller returns to the error handler.
func (h *Handler) formProblem(lang string, err error) (msg, field string, status int, ok bool) {
	var p *model.Problem
	if !errors.As(err, &p) {
		return "", "", 0, false
	}
	status, _ = httpkit.StatusOf(p)
	if status >= 500 {
		return "", "", 0, false
	}
	// A code may mean different things in different fields (invalid_days:
	// the weekdays of a perk, the days of a reminder): a field's own text,
	// admin.err.<field>.<code>, comes first.
	keys := []string{"admin.err." + p.Code}
	if p.Field != "" {
		keys = []string{"admin.err." + p.Field + "." + p.Code, keys[0]}
	}
	for _, key := range keys {
		if msg = h.cat.T(lang, key); msg != key {
			return msg, p.Field, status, true
		}
	}
	return p.Message, p.Field, status, true
}

// formValue reads a form field, trimmed and copied out of Fiber's buffers.
func consoleForm(c *fiber.Ctx, key string) string {
	return utils.CopyString(strings.TrimSpace(c.FormValue(key)))
}

// formValues reads every value of a repeated form field (checkboxes).
func consoleFormValues(c *fiber.Ctx, key string) []string {
	var out []string
	for _, v := range c.Request().PostArgs().PeekMulti(key) {
		if s := strings.TrimSpace(string(v)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// consoleName is a full name as a Japanese or English reader expects it:
// "山田 太郎" family first in Japanese, "Taro Yamada" in English. A name
// written in Japanese script stays family first in English too, as it is
// always written that way.
func consoleName(lang, family, given string) string {
	if lang == "en" && !hasJapaneseScript(family+given) {
		return strings.TrimSpace(given + " " + family)
	}
	return strings.TrimSpace(family + " " + given)
}

// hasJapaneseScript reports whether s has kanji, hiragana or katakana.
func hasJapaneseScript(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) {
			return true
		}
	}
	return false
}

// consoleTime shows a time in Japan time, to the minute.
func consoleTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(model.JST()).Format("2006-01-02 15:04")
}

// consoleTimePtr is consoleTime for an optional time.
func consoleTimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return consoleTime(*t)
}

// qrDataURI renders text as a QR code PNG (error correction M) in a data:
// URI, which the page's CSP allows for images.
func consoleQR(text string, size int) (template.URL, error) {
	png, err := qrcode.Encode(text, qrcode.Medium, size)
	if err != nil {
		return "", err
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)), nil
}

// shortID is the first block of a UUID, enough to tell rows apart on screen.
func consoleShortID(id string) string {
	if i := strings.IndexByte(id, '-'); i > 0 {
		return id[:i]
	}
	return id
}

// label translates a code under a catalogue prefix, or shows the code.
func (h *Handler) consoleLabel(lang, prefix, code string) string {
	if v := h.cat.T(lang, prefix+code); v != prefix+code {
		return v
	}
	return code
}

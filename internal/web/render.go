package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/alumnipass/alumnipass/internal/i18n"
)

// pageData is what every page template receives.
type pageData struct {
	Lang          string
	OtherLang     string
	LangSwitchURL string
	CSRF          string
	Page          any
	User          any
}

// parsePages parses layout.html with each other template into one set each.
func (s *Server) parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"t": s.cat.T,
		// tn is a message with a count: "<key>.one" for 1 when the catalogue
		// has it ("1 companion", "1 person"), else key, with {n} filled in.
		"tn": func(lang, key string, n int) string {
			msg := s.cat.T(lang, key)
			if one := s.cat.T(lang, key+".one"); n == 1 && one != key+".one" {
				msg = one
			}
			return strings.ReplaceAll(msg, "{n}", strconv.Itoa(n))
		},
		"json": func(v any) (template.JS, error) {
			b, err := json.Marshal(v)
			return template.JS(b), err
		},
		"join": strings.Join,
	}
	layout, err := fs.ReadFile(s.static, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("layout template: %w", err)
	}
	names, err := fs.Glob(s.static, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" {
			continue
		}
		body, err := fs.ReadFile(s.static, n)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", n, err)
		}
		t, err := template.New("layout").Funcs(funcs).Parse(string(layout))
		if err == nil {
			_, err = t.Parse(string(body))
		}
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", n, err)
		}
		pages[base] = t
	}
	return pages, nil
}

// lang picks the request's language: ?lang=, the lang cookie, Accept-Language.
func (s *Server) lang(c *fiber.Ctx) string {
	if q := c.Query("lang"); q != "" {
		l := i18n.Pick(q, "")
		if l == q {
			c.Cookie(&fiber.Cookie{Name: "lang", Value: l, Path: "/", MaxAge: 365 * 24 * 3600, SameSite: "Lax", Secure: s.cfg.CookieSecure})
			return l
		}
	}
	return i18n.Pick(c.Cookies("lang"), c.Get("Accept-Language"))
}

// render writes a page.
func (s *Server) render(c *fiber.Ctx, status int, name string, d pageData) error {
	t, ok := s.pages[name]
	if !ok {
		return fmt.Errorf("no template %q", name)
	}
	if d.Lang == "" {
		d.Lang = s.lang(c)
	}
	d.OtherLang = "en"
	if d.Lang == "en" {
		d.OtherLang = "ja"
	}
	d.LangSwitchURL = c.Path() + "?lang=" + d.OtherLang
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	c.Set("Content-Type", "text/html; charset=utf-8")
	c.Set("Cache-Control", "no-store")
	return c.Status(status).Send(buf.Bytes())
}

// renderError shows an error page to a browser.
func (s *Server) renderError(c *fiber.Ctx, status int, code, message string) error {
	lang := s.lang(c)
	msg := s.cat.T(lang, "error."+code)
	if msg == "error."+code {
		msg = message
	}
	page := map[string]any{"Status": status, "Code": code, "Message": msg}
	if err := s.render(c, status, "error", pageData{Lang: lang, Page: page}); err != nil {
		return c.Status(status).SendString(message)
	}
	return nil
}

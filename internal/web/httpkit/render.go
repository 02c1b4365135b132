package httpkit

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

// PageData is what every page template receives.
type PageData struct {
	Lang          string
	OtherLang     string
	LangSwitchURL string
	CSRF          string
	Page          any
	User          any
}

// Renderer writes the server-rendered pages: every template of the
// embedded FS parsed with the layout, and the catalogue for their words.
type Renderer struct {
	cat          *i18n.Catalog
	pages        map[string]*template.Template
	cookieSecure bool
}

// NewRenderer parses the templates of static; cookieSecure marks the
// language cookie Secure.
func NewRenderer(cat *i18n.Catalog, static fs.FS, cookieSecure bool) (*Renderer, error) {
	r := &Renderer{cat: cat, cookieSecure: cookieSecure}
	pages, err := r.parsePages(static)
	if err != nil {
		return nil, err
	}
	r.pages = pages
	return r, nil
}

// Catalog is the message catalogue the pages are written with.
func (r *Renderer) Catalog() *i18n.Catalog { return r.cat }

// AddPartials parses the shared blocks in text into every page whose name
// match accepts (the console pages share a top bar and a banner).
func (r *Renderer) AddPartials(text string, match func(name string) bool) error {
	for name, t := range r.pages {
		if !match(name) {
			continue
		}
		if _, err := t.Parse(text); err != nil {
			return fmt.Errorf("template %s: %w", name, err)
		}
	}
	return nil
}

// parsePages parses layout.html with each other template into one set each.
func (r *Renderer) parsePages(static fs.FS) (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"t": r.cat.T,
		// tn is a message with a count: "<key>.one" for 1 when the catalogue
		// has it ("1 companion", "1 person"), else key, with {n} filled in.
		"tn": func(lang, key string, n int) string {
			msg := r.cat.T(lang, key)
			if one := r.cat.T(lang, key+".one"); n == 1 && one != key+".one" {
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
	layout, err := fs.ReadFile(static, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("layout template: %w", err)
	}
	names, err := fs.Glob(static, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" {
			continue
		}
		body, err := fs.ReadFile(static, n)
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

// Lang picks the request's language: ?lang=, the lang cookie, Accept-Language.
func (r *Renderer) Lang(c *fiber.Ctx) string {
	if q := c.Query("lang"); q != "" {
		l := i18n.Pick(q, "")
		if l == q {
			c.Cookie(&fiber.Cookie{Name: "lang", Value: l, Path: "/", MaxAge: 365 * 24 * 3600, SameSite: "Lax", Secure: r.cookieSecure})
			return l
		}
	}
	return i18n.Pick(c.Cookies("lang"), c.Get("Accept-Language"))
}

// Render writes a page.
func (r *Renderer) Render(c *fiber.Ctx, status int, name string, d PageData) error {
	t, ok := r.pages[name]
	if !ok {
		return fmt.Errorf("no template %q", name)
	}
	if d.Lang == "" {
		d.Lang = r.Lang(c)
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

// Error shows an error page to a browser.
func (r *Renderer) Error(c *fiber.Ctx, status int, code, message string) error {
	lang := r.Lang(c)
	msg := r.cat.T(lang, "error."+code)
	if msg == "error."+code {
		msg = message
	}
	page := map[string]any{"Status": status, "Code": code, "Message": msg}
	if err := r.Render(c, status, "error", PageData{Lang: lang, Page: page}); err != nil {
		return c.Status(status).SendString(message)
	}
	return nil
}

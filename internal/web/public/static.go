package public

import (
	"io/fs"
	"mime"
	"path"

	"github.com/gofiber/fiber/v2"
)

// staticRoutes serves the embedded assets. Assets are small and few, so they
// are read from the embedded FS per request; browsers cache them for an hour
// and revalidate, and the service worker keeps them for offline use.
func (h *Handler) staticRoutes(a fiber.Router) {
	serve := func(name, cache string) fiber.Handler {
		return func(c *fiber.Ctx) error {
			b, err := fs.ReadFile(h.static, name)
			if err != nil {
				return fiber.ErrNotFound
			}
			ct := mime.TypeByExtension(path.Ext(name))
			switch path.Ext(name) {
			case ".webmanifest":
				ct = "application/manifest+json"
			case ".mjs", ".js":
				ct = "text/javascript; charset=utf-8"
			case ".svg":
				ct = "image/svg+xml"
			}
			if ct == "" {
				ct = "application/octet-stream"
			}
			c.Set("Content-Type", ct)
			c.Set("Cache-Control", cache)
			return c.Send(b)
		}
	}
	a.Get("/sw.js", serve("sw.js", "no-cache"))
	a.Get("/manifest.webmanifest", serve("manifest.webmanifest", "public, max-age=3600"))
	// Browsers ask for /favicon.ico on every site whatever the page links;
	// the icon changes with a release at most, so it is kept for a day.
	a.Get("/favicon.ico", serve("icons/favicon.ico", "public, max-age=86400"))
	a.Get("/static/*", func(c *fiber.Ctx) error {
		p := path.Clean("/" + c.Params("*"))[1:]
		if p == "" || path.Ext(p) == ".go" || path.Dir(p) == "templates" || path.Dir(p) == "i18n" {
			return fiber.ErrNotFound
		}
		return serve(p, "public, max-age=3600")(c)
	})
}

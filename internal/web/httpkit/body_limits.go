package httpkit

import (
	"bytes"
	"io"

	"github.com/gofiber/fiber/v2"

	"github.com/alumnipass/alumnipass/internal/model"
)

// Request bodies are streamed (fiber.Config.StreamRequestBody): fasthttp
// reads the headers and at most 8 KiB of a body before any handler runs,
// and LimitBody, the first middleware to touch a body, decides how much
// more may be read. Every route takes at most MaxJSONBody (64 KiB), read
// here before the route runs; the import routes take up to
// ALUMNIPASS_BODY_LIMIT, read only by the route itself, after it has
// checked who is asking, so an unauthenticated 32 MiB request costs the
// server 8 KiB, not 32 MiB. A body over its limit is refused by its
// Content-Length, before it is kept: up to maxDrainBody it is read into
// nothing first (so the client sees the 413), past that the connection is
// closed at once.

// maxDrainBody is the largest refused body that is read (and thrown away)
// before the 413, so that an ordinary client gets the answer rather than a
// reset connection; past it the connection is closed at once.
const maxDrainBody = 2 << 20

// largeBodyRoute says whether the request goes to a route that takes more
// than MaxJSONBody: the CSV imports of the API and of the HR console.
func largeBodyRoute(c *fiber.Ctx) bool {
	if c.Method() != fiber.MethodPost {
		return false
	}
	p := c.Path()
	return p == "/api/v1/members/import" || p == "/admin/import"
}

// MaxListBody bounds the body of the routes that take a list of members
// (a bulk invitation of what an import created): a job of jobs.MaxMembers
// (50,000) ids of 36 characters, with quotes and commas, is 1.95 MB. It is
// read before the route, as the 64 KiB ones are; a refused body of up to
// maxDrainBody is read too, so this costs an anonymous client nothing it
// could not already make the server read. It stays under maxDrainBody so
// that a list slightly too long gets its 413 rather than a reset.
const MaxListBody = maxDrainBody - 64<<10

// listBodyRoute says whether the request goes to a route that takes up to
// MaxListBody: bulk invitations by member ids, in the API and the console.
func listBodyRoute(c *fiber.Ctx) bool {
	if c.Method() != fiber.MethodPost {
		return false
	}
	p := c.Path()
	return p == "/api/v1/invitations" || p == "/admin/invitations"
}

// LimitBody enforces the body limit of the route before the body is read;
// bodyLimit is the limit of the import routes (ALUMNIPASS_BODY_LIMIT).
func LimitBody(bodyLimit int) fiber.Handler {
	return func(c *fiber.Ctx) error { return limitBody(c, bodyLimit) }
}

func limitBody(c *fiber.Ctx, bodyLimit int) error {
	h := &c.Request().Header
	if ce := h.Peek(fiber.HeaderContentEncoding); len(ce) > 0 && !bytes.EqualFold(ce, []byte("identity")) {
		// Fiber would inflate it without a bound: 64 KiB of nested gzip is
		// gigabytes.
		c.Context().SetConnectionClose()
		return model.NewProblem(model.ErrInvalid, "unsupported_media_type", "Send the body without a Content-Encoding.")
	}
	limit := MaxJSONBody
	large := largeBodyRoute(c)
	switch {
	case large:
		limit = bodyLimit
	case listBodyRoute(c):
		limit = MaxListBody
	}
	n := h.ContentLength() // -1: chunked; -2: no body
	if n > limit {
		c.Context().SetConnectionClose()
		if n <= maxDrainBody && c.Request().IsBodyStream() {
			// A client still writing a modest body would see its connection
			// reset instead of the 413: read it into nothing (no memory
			// kept), then answer. Larger ones are cut off.
			_, _ = io.CopyN(io.Discard, c.Context().RequestBodyStream(), int64(n))
		}
		return fiber.ErrRequestEntityTooLarge
	}
	if large {
		if n == -1 {
			c.Context().SetConnectionClose()
			return model.NewProblem(model.ErrInvalid, "length_required", "Send the file with a Content-Length (not chunked).")
		}
		err := c.Next()
		if c.Request().IsBodyStream() {
			// The route answered without reading the body (401, 403 …):
			// close the connection rather than read the rest.
			c.Context().SetConnectionClose()
		}
		return err
	}
	if n == -1 && c.Request().IsBodyStream() {
		body, err := io.ReadAll(io.LimitReader(c.Context().RequestBodyStream(), int64(limit)+1))
		if err != nil {
			c.Context().SetConnectionClose()
			return fiber.ErrBadRequest
		}
		if len(body) > limit {
			c.Context().SetConnectionClose()
			return fiber.ErrRequestEntityTooLarge
		}
		c.Request().SetBody(body)
	} else if n > 0 {
		c.Request().Body() // at most limit bytes, as Content-Length says
	}
	return c.Next()
}

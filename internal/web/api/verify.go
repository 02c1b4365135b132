package api

import (
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// maxCodeLen bounds what a scanner may send; real codes are under 200.
const maxCodeLen = 512

func (h *Handler) verify(c *fiber.Ctx) error {
	p := httpkit.Principal(c)
	var in struct {
		Code string `json:"code"`
	}
	if code, ok := codeBody(c); ok {
		in.Code = code
	} else if err := httpkit.BindJSON(c, &in); err != nil {
		return err
	}
	if in.Code == "" {
		return model.Invalidf("code", "code_required", "code is required: the text read from the QR code")
	}
	if len(in.Code) > maxCodeLen {
		return model.Invalidf("code", "code_too_long", "code is far longer than any alumnipass code")
	}
	// Throttled keys and cards get the same 429 whatever the code, decided
	// before it is checked (verify_throttle.go).
	card := cardOfCode(in.Code)
	keySlot, cardSlot, limit, wait := h.takeGuess(p.ID, card)
	if limit != "" {
		h.metrics.Throttled.WithLabelValues(limit).Inc()
		return httpkit.TooMany(c, wait)
	}
	d, err := h.verifier.Verify(c.UserContext(), p, in.Code)
	if err != nil || !guessFailure(d.Result) {
		h.limits.BadCodes.Refund(keySlot)
	}
	if err != nil || d.Result != model.ResultStale {
		// Only a stale code is a guess at this card's TOTP; anything else
		// names the card without its signed part or is no failure.
		h.limits.BadCard.Refund(cardSlot)
	}
	if err != nil {
		return err
	}
	if err := h.countGuess(c, p.ID, card, d.Result); err != nil {
		return err
	}
	h.metrics.Verify.WithLabelValues(d.Result).Inc()
	c.Set("Cache-Control", "no-store")
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(d.AppendJSON(make([]byte, 0, 512)))
}

// codeBody reads the body every scanner sends, {"code":"…"}, without
// encoding/json: it is the one request of the counter's hot path, and
// decoding it through reflection cost more than the verification decision
// (docs/benchmarks.md). It takes only the plain shape (optional JSON
// whitespace, no escapes, no control characters, valid UTF-8, the JSON
// content type); anything else returns false and goes through bindJSON, so
// odd bodies get the same answers as before.
func codeBody(c *fiber.Ctx) (string, bool) {
	if !httpkit.IsJSONType(c) {
		return "", false
	}
	b := c.Body()
	if len(b) > httpkit.MaxJSONBody {
		return "", false
	}
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return "", false
	}
	i = skipSpace(b, i+1)
	const key = `"code"`
	if len(b)-i < len(key) || string(b[i:i+len(key)]) != key {
		return "", false
	}
	i = skipSpace(b, i+len(key))
	if i >= len(b) || b[i] != ':' {
		return "", false
	}
	i = skipSpace(b, i+1)
	if i >= len(b) || b[i] != '"' {
		return "", false
	}
	start := i + 1
	end := start
	for ; end < len(b) && b[end] != '"'; end++ {
		if b[end] == '\\' || b[end] < 0x20 {
			return "", false
		}
	}
	if end >= len(b) {
		return "", false
	}
	i = skipSpace(b, end+1)
	if i >= len(b) || b[i] != '}' || skipSpace(b, i+1) != len(b) || !utf8.Valid(b[start:end]) {
		return "", false
	}
	return string(b[start:end]), true
}

// skipSpace skips JSON whitespace from i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

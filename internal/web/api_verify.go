package web

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/alumnipass/alumnipass/internal/model"
)

// maxCodeLen bounds what a scanner may send; real codes are under 200.
const maxCodeLen = 512

func (s *Server) verify(c *fiber.Ctx) error {
	p := principal(c)
	if blocked, wait := s.limits.badCodes.blocked(p.ID); blocked {
		s.metrics.throttled.WithLabelValues("verify_key").Inc()
		return tooMany(c, wait)
	}
	var in struct {
		Code string `json:"code"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	if in.Code == "" {
		return model.Invalidf("code", "code_required", "code is required: the text read from the QR code")
	}
	if len(in.Code) > maxCodeLen {
		return model.Invalidf("code", "code_too_long", "code is far longer than any alumnipass code")
	}
	d, err := s.svc.Verifier.Verify(c.UserContext(), p, in.Code)
	if err != nil {
		return err
	}
	s.metrics.verify.WithLabelValues(d.Result).Inc()
	switch d.Result {
	case model.ResultInvalid, model.ResultUnknownKey, model.ResultStale:
		// Guessing shows up as many refused codes from one key, or many
		// stale codes for one card; both get slowed down.
		if ok, _ := s.limits.badCodes.allow(p.ID); !ok {
			s.metrics.throttled.WithLabelValues("verify_key").Inc()
		}
		if d.Result == model.ResultStale && d.CardID() != "" {
			if ok, _ := s.limits.badCard.allow(d.CardID()); !ok {
				s.metrics.throttled.WithLabelValues("verify_card").Inc()
			}
		}
	case model.ResultValid:
		if blocked, wait := s.limits.badCard.blocked(d.CardID()); blocked {
			// Too many stale codes for this card just now: someone is
			// trying pictures of it. The valid answer is withheld briefly.
			s.metrics.throttled.WithLabelValues("verify_card").Inc()
			return tooMany(c, wait)
		}
	}
	c.Set("Cache-Control", "no-store")
	return c.JSON(d)
}

func tooMany(c *fiber.Ctx, wait time.Duration) error {
	secs := max(int(wait.Seconds()+0.999), 1)
	c.Set("Retry-After", strconv.Itoa(secs))
	return c.Status(fiber.StatusTooManyRequests).JSON(apiError{Error: apiErrorBody{Code: "rate_limited",
		Message: "Too many attempts; wait " + strconv.Itoa(secs) + " seconds and try again.", RetryAfter: secs}})
}

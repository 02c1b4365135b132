package api

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"github.com/skip2/go-qrcode"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/wallet"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

const walletKey = "wallet"

// walletAuth opens the wallet from a Bearer token (apps, tests) or the
// wallet cookie (the page); cookie-authenticated writes need the CSRF token.
func (h *Handler) walletAuth(c *fiber.Ctx) error {
	tok, ok := httpkit.BearerToken(c)
	fromCookie := false
	if !ok {
		tok, fromCookie = c.Cookies(httpkit.WalletCookie), true
	}
	if tok == "" {
		return model.NewProblem(model.ErrUnauthorized, "unauthorized", "Open your wallet from the enrolment link first.")
	}
	w, err := h.wallet.Open(c.UserContext(), utils.CopyString(tok))
	if err != nil {
		return err
	}
	if fromCookie && c.Method() != fiber.MethodGet {
		if err := httpkit.CheckCSRF(c); err != nil {
			return err
		}
	}
	c.Locals(walletKey, w)
	return c.Next()
}

func walletOf(c *fiber.Ctx) *wallet.Wallet {
	w, _ := c.Locals(walletKey).(*wallet.Wallet)
	return w
}

func (h *Handler) walletEnroll(c *fiber.Ctx) error {
	if _, ok, wait, err := h.limits.Enroll.Take(c.UserContext(), c.IP()); err != nil {
		return err
	} else if !ok {
		h.metrics.Throttled.WithLabelValues("enroll").Inc()
		return httpkit.TooMany(c, wait)
	}
	var in struct {
		Token     string `json:"token"`
		Consent   *bool  `json:"consent"`
		DeviceKey string `json:"device_key"` // format 2: the phone's P-256 key, base64url
	}
	if err := httpkit.BindJSON(c, &in); err != nil {
		return err
	}
	// The app must show the consent wording and send consent: true; it is
	// recorded with its version (APPI), never assumed.
	consent := in.Consent != nil && *in.Consent
	if in.DeviceKey != "" {
		return h.walletEnrollDevice(c, strings.TrimSpace(in.Token), consent, in.DeviceKey)
	}
	e, err := h.wallet.Enroll(c.UserContext(), strings.TrimSpace(in.Token), consent)
	if err != nil {
		return err
	}
	return httpkit.Created(c, e)
}

func (h *Handler) walletCode(c *fiber.Ctx) error {
	code, err := h.wallet.CurrentCode(walletOf(c))
	if err != nil {
		return err
	}
	c.Set("Cache-Control", "no-store")
	return c.JSON(code)
}

func (h *Handler) walletCodePNG(c *fiber.Ctx) error {
	code, err := h.wallet.CurrentCode(walletOf(c))
	if err != nil {
		return err
	}
	png, err := qrcode.Encode(code.Code, qrcode.Medium, 480)
	if err != nil {
		return err
	}
	c.Set("Cache-Control", "no-store")
	c.Set("Refresh", "30")
	c.Set("Content-Type", "image/png")
	return c.Send(png)
}

func (h *Handler) walletCreateGuestPass(c *fiber.Ctx) error {
	w := walletOf(c)
	if _, ok, wait, err := h.limits.WalletGuest.Take(c.UserContext(), w.Card.ID); err != nil {
		return err
	} else if !ok {
		h.metrics.Throttled.WithLabelValues("guest_pass").Inc()
		return httpkit.TooMany(c, wait)
	}
	var in struct {
		PartySize  int    `json:"party_size"`
		ValidFrom  string `json:"valid_from"`
		ValidUntil string `json:"valid_until"`
		MaxUses    int    `json:"max_uses"`
	}
	if err := httpkit.BindJSON(c, &in); err != nil {
		return err
	}
	gi := wallet.GuestPassInput{PartySize: in.PartySize, MaxUses: in.MaxUses}
	var err error
	if gi.ValidFrom, err = parseOptionalTime("valid_from", in.ValidFrom); err != nil {
		return err
	}
	if gi.ValidUntil, err = parseOptionalTime("valid_until", in.ValidUntil); err != nil {
		return err
	}
	g, err := h.wallet.CreateGuestPass(c.UserContext(), w, gi)
	if err != nil {
		return err
	}
	return httpkit.Created(c, g)
}

func parseOptionalTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", v, model.JST()); err == nil {
		return t.Add(24*time.Hour - time.Second), nil // the end of that day in Japan
	}
	return time.Time{}, model.Invalidf(field, "invalid_time", field+" must be an RFC 3339 time such as 2026-12-24T21:00:00+09:00, or a date")
}

func (h *Handler) walletCancelGuestPass(c *fiber.Ctx) error {
	if err := h.wallet.CancelGuestPass(c.UserContext(), walletOf(c), utils.CopyString(c.Params("id"))); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"cancelled": true})
}

// serverTime answers GET /api/v1/time: the server's clock, never cached. The
// wallet sends its own clock as client_ms and gets it back beside the
// server's, so that it measures its offset from this very round trip
// (offset = unix_ms - (client_ms + arrival) / 2) and can tell the answer
// from a copy some cache kept.
func (h *Handler) serverTime(c *fiber.Ctx) error {
	out := struct {
		UnixMS   int64  `json:"unix_ms"`
		ClientMS *int64 `json:"client_ms,omitempty"`
	}{UnixMS: h.now().UnixMilli()}
	if v := c.Query("client_ms"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return model.Invalidf("client_ms", "invalid_client_ms", "client_ms must be the client's clock in Unix milliseconds, a whole number.")
		}
		out.ClientMS = &ms
		h.recordWalletClock(c, out.UnixMS-ms)
	}
	c.Set("Cache-Control", "no-store")
	return c.JSON(out)
}

// recordWalletClock keeps the phone's clock offset when the request comes
// from an enrolled wallet (its cookie), for honest stale answers. It is a
// side note of the time answer: a missing or dead wallet, or a failure to
// write, changes nothing in the answer.
func (h *Handler) recordWalletClock(c *fiber.Ctx, offsetMS int64) {
	tok := c.Cookies(httpkit.WalletCookie)
	if tok == "" {
		return
	}
	w, err := h.wallet.Open(c.UserContext(), utils.CopyString(tok))
	if err != nil {
		return
	}
	if err := h.wallet.RecordClock(c.UserContext(), w, offsetMS); err != nil {
		h.log.Warn("wallet clock not recorded", "err", err, "request_id", httpkit.RequestID(c))
	}
}

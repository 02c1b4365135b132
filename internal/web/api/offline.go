package api

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/statuslist"
	"github.com/alumnipass/alumnipass/internal/verify"
	"github.com/alumnipass/alumnipass/internal/wallet"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// statusLists builds the signed status list (internal/statusfeed).
type statusLists interface {
	Full(ctx context.Context) ([]byte, error)
	Delta(ctx context.Context, since int64) ([]byte, error)
}

// getStatusList serves the signed status list (docs/credential-format.md
// section 13): the full list, or with ?since=SEQ the changes after SEQ.
// No authentication: it holds only opaque ids.
func (h *Handler) getStatusList(c *fiber.Ctx) error {
	var (
		b   []byte
		err error
	)
	if s := c.Query("since"); s != "" {
		since, perr := strconv.ParseInt(s, 10, 64)
		if perr != nil || since < 0 {
			return model.Invalidf("since", "invalid_since", "since must be a sequence number the status list gave.")
		}
		b, err = h.status.Delta(c.UserContext(), since)
		if errors.Is(err, model.ErrInvalid) {
			return model.Invalidf("since", "invalid_since", "since is ahead of the status list: fetch the full list again.")
		}
	} else {
		b, err = h.status.Full(c.UserContext())
	}
	if err != nil {
		return err
	}
	c.Set("Cache-Control", "no-cache")
	c.Set(fiber.HeaderContentType, statuslist.ContentType)
	return c.Send(b)
}

// walletBindDevice binds the wallet's card to the phone's P-256 key
// (format version 2) and answers what the wallet needs to make its codes.
func (h *Handler) walletBindDevice(c *fiber.Ctx) error {
	var in struct {
		PublicKey string `json:"public_key"`
	}
	if err := httpkit.BindJSON(c, &in); err != nil {
		return err
	}
	raw, err := base64.RawURLEncoding.DecodeString(in.PublicKey)
	if err != nil || len(raw) == 0 {
		return model.Invalidf("public_key", "invalid_device_key", "public_key must be the P-256 public key in base64url.")
	}
	b, err := h.wallet.BindDevice(c.UserContext(), walletOf(c), raw)
	if err != nil {
		return err
	}
	return httpkit.Created(c, b)
}

// walletEnrollDevice enrols and binds the card to the phone's key at once:
// the answer has no TOTP secret, and the card's version 2 binding.
func (h *Handler) walletEnrollDevice(c *fiber.Ctx, token string, consent bool, deviceKey string) error {
	raw, err := base64.RawURLEncoding.DecodeString(deviceKey)
	if err != nil {
		return model.Invalidf("device_key", "invalid_device_key", "device_key must be the P-256 public key in base64url.")
	}
	e, b, err := h.wallet.EnrollDevice(c.UserContext(), token, consent, raw)
	if err != nil {
		return err
	}
	return httpkit.Created(c, struct {
		*wallet.Enrolment
		Device *wallet.Binding `json:"device"`
	}{e, b})
}

// maxOfflineScans bounds one upload of a scanner's queue.
const maxOfflineScans = 100

// offlineScan is one scan a scanner decided without the server.
type offlineScan struct {
	Code          string    `json:"code"`
	ScannedAt     time.Time `json:"scanned_at"`
	OfflineResult string    `json:"offline_result"`
}

// uploadOfflineScans records the scans a scanner decided offline, each
// decided again as of its time; the answers say which turned out to be
// replays (or otherwise differ from the offline decision).
func (h *Handler) uploadOfflineScans(c *fiber.Ctx) error {
	var in struct {
		Scans []offlineScan `json:"scans"`
	}
	if err := httpkit.BindJSON(c, &in); err != nil {
		return err
	}
	if len(in.Scans) == 0 || len(in.Scans) > maxOfflineScans {
		return model.Invalidf("scans", "invalid_scans", "scans must hold 1 to 100 scans.")
	}
	for _, s := range in.Scans {
		if s.Code == "" || len(s.Code) > maxCodeLen {
			return model.Invalidf("scans", "invalid_scans", "every scan needs its code, as read from the QR code.")
		}
	}
	type answer struct {
		*verify.Decision
		OfflineResult string `json:"offline_result,omitempty"`
		Differs       bool   `json:"differs"`
	}
	// The guessing limit of online scans holds here too, or an upload of
	// 100 made-up codes would be an oracle without a budget: a key blocked
	// on any instance is refused before a code is checked (the scanner
	// keeps its queue and uploads it later), and every refused code of the
	// upload counts against the key (and a stale one against its card)
	// like a scan at the counter.
	p := httpkit.Principal(c)
	if wait, blocked := h.limits.Guesses.KeyBlocked(p.ID); blocked {
		h.metrics.Throttled.WithLabelValues("verify_key").Inc()
		return httpkit.TooMany(c, wait)
	}
	out := make([]answer, 0, len(in.Scans))
	for _, s := range in.Scans {
		d, err := h.verifier.VerifyOffline(c.UserContext(), p, s.Code, s.ScannedAt)
		if err != nil {
			return err
		}
		if err := h.countGuess(c, p.ID, cardOfCode(s.Code), d.Result); err != nil {
			return err
		}
		differs := s.OfflineResult != "" && s.OfflineResult != d.Result &&
			!(s.OfflineResult == "freshness_unknown" && d.Result == model.ResultValid)
		out = append(out, answer{Decision: d, OfflineResult: s.OfflineResult, Differs: differs})
	}
	c.Set("Cache-Control", "no-store")
	return c.JSON(fiber.Map{"results": out})
}

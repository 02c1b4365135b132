package public

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"github.com/skip2/go-qrcode"

	"github.com/alumnipass/alumnipass/internal/credential"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

type enrollView struct {
	Token          string `json:"token"`
	DisplayName    string `json:"display_name"`
	ConsentVersion string `json:"consent_version"`
	ConsentText    string `json:"consent_text"`
	ErrorCode      string `json:"error_code"`
	ErrorMessage   string `json:"error_message"`
	Notice         string `json:"notice"`
}

func (h *Handler) enrollPage(c *fiber.Ctx) error {
	lang := h.render.Lang(c)
	token := utils.CopyString(c.Params("token"))
	v := enrollView{Token: token, ConsentVersion: h.cfg.ConsentVersion, ConsentText: h.cat.T(lang, "wallet.enroll.consent_text")}
	status := fiber.StatusOK
	info, err := h.wallet.Inspect(c.UserContext(), token)
	if err != nil {
		var p *model.Problem
		if !errors.As(err, &p) {
			return err
		}
		status, _ = httpkit.StatusOf(p)
		v.ErrorCode, v.ErrorMessage = p.Code, h.enrollError(lang, p.Code)
	} else {
		v.DisplayName = info.DisplayName
	}
	return h.render.Render(c, status, "enroll", httpkit.PageData{Lang: lang, CSRF: httpkit.CSRFToken(c, h.cfg.CookieSecure), Page: v})
}

func (h *Handler) enrollSubmit(c *fiber.Ctx) error {
	if _, ok, wait, err := h.limits.Enroll.Take(c.UserContext(), c.IP()); err != nil {
		return err
	} else if !ok {
		h.metrics.Throttled.WithLabelValues("enroll").Inc()
		return httpkit.TooMany(c, wait)
	}
	if err := httpkit.CheckCSRF(c); err != nil {
		return err
	}
	token := utils.CopyString(c.Params("token"))
	consent := c.FormValue("consent") != ""
	e, err := h.wallet.Enroll(c.UserContext(), token, consent)
	if err != nil {
		var p *model.Problem
		if errors.As(err, &p) {
			lang := h.render.Lang(c)
			status, _ := httpkit.StatusOf(p)
			v := enrollView{Token: token, ConsentVersion: h.cfg.ConsentVersion, ConsentText: h.cat.T(lang, "wallet.enroll.consent_text"),
				ErrorCode: p.Code, ErrorMessage: h.enrollError(lang, p.Code)}
			if p.Code == "consent_required" {
				v.ErrorCode, v.Notice = "", h.cat.T(lang, "wallet.enroll.consent_needed")
				if info, ierr := h.wallet.Inspect(c.UserContext(), token); ierr == nil {
					v.DisplayName = info.DisplayName
				}
			}
			return h.render.Render(c, status, "enroll", httpkit.PageData{Lang: lang, CSRF: httpkit.CSRFToken(c, h.cfg.CookieSecure), Page: v})
		}
		return err
	}
	c.Cookie(&fiber.Cookie{Name: httpkit.WalletCookie, Value: e.WalletToken, Path: "/", HTTPOnly: true, Secure: h.cfg.CookieSecure,
		SameSite: "Strict", Expires: e.ExpiresAt})
	return c.Redirect("/w", fiber.StatusSeeOther)
}

// enrollError is the catalogue's words for an enrolment problem, or "" so
// that the page falls back to its generic message.
func (h *Handler) enrollError(lang, code string) string {
	key := "wallet.enroll.error." + code
	if msg := h.cat.T(lang, key); msg != key {
		return msg
	}
	return ""
}

type walletView struct {
	DisplayName string            `json:"display_name"`
	Tier        string            `json:"tier"`
	SignedPart  string            `json:"signed_part"`
	SecretB32   string            `json:"secret_b32"`
	CardID      string            `json:"card_id"`
	Bound       bool              `json:"bound"` // format 2: only the phone's key makes codes
	ExpiresAt   string            `json:"expires_at"`
	Status      string            `json:"status"`
	Perks       []walletPerk      `json:"perks"`
	History     []walletHistory   `json:"history"`
	GuestPasses []walletGuest     `json:"guest_passes"`
	GuestQuota  walletQuota       `json:"guest_quota"`
	Messages    map[string]string `json:"messages"`
}

// walletPerk is one entry of the wallet's perk directory: who offers it
// and where, what it is, when it applies and for whom.
type walletPerk struct {
	Partner     string `json:"partner"`
	Venue       string `json:"venue"` // the partner's open venues, joined
	Title       string `json:"title"`
	Description string `json:"description"`
	Companions  int    `json:"companions"`
	When        string `json:"when"`   // days and hours, or "any time"
	Tiers       string `json:"tiers"`  // the tiers it is for, or "every member"
	Limits      string `json:"limits"` // uses per day / month, "" when none
}

// walletHistory is one perk use in the wallet's history.
type walletHistory struct {
	At        string `json:"at"`
	AtText    string `json:"-"` // At for a page without JavaScript
	Partner   string `json:"partner"`
	Venue     string `json:"venue"` // empty when it only repeats the partner's name
	Perk      string `json:"perk"`
	PartySize int    `json:"party_size"`
	Guest     bool   `json:"guest"`
	PartyText string `json:"-"` // "3 people", in the page's language
}

type walletGuest struct {
	ID         string `json:"id"`
	ShareURL   string `json:"share_url"`
	PNGURL     string `json:"png_url"`
	PartySize  int    `json:"party_size"`
	ValidFrom  string `json:"valid_from"`
	ValidUntil string `json:"valid_until"`
	Uses       int    `json:"uses"`
	MaxUses    int    `json:"max_uses"`
	Status     string `json:"status"`
}

type walletQuota struct {
	Limit int `json:"limit"`
	Used  int `json:"used"`
}

func (h *Handler) walletPage(c *fiber.Ctx) error {
	tok := c.Cookies(httpkit.WalletCookie)
	if tok == "" {
		return h.render.Error(c, fiber.StatusUnauthorized, "no_wallet", h.cat.T(h.render.Lang(c), "wallet.no_wallet"))
	}
	w, err := h.wallet.Open(c.UserContext(), utils.CopyString(tok))
	if errors.Is(err, model.ErrUnauthorized) {
		return h.render.Error(c, fiber.StatusUnauthorized, "no_wallet", h.cat.T(h.render.Lang(c), "wallet.no_wallet"))
	}
	if err != nil {
		return err
	}
	view, err := h.wallet.View(c.UserContext(), w)
	if err != nil {
		return err
	}
	lang := h.render.Lang(c)
	status := string(w.Member.Status)
	if w.Card.Status != model.CardActive && status == string(model.MemberActive) {
		// The member is active but this card is not: it was replaced by a
		// newer card (re-issued, or moved to a new phone by recovery).
		status = "replaced"
	}
	v := walletView{DisplayName: w.Member.DisplayName(), Tier: w.Member.Tier,
		ExpiresAt: w.Card.ExpiresAt.Format(time.RFC3339), Status: status, Messages: walletMessages(h.cat.Prefix(lang, "wallet.")),
		GuestQuota: walletQuota{Limit: view.QuotaLimit, Used: view.QuotaUsed}, Perks: []walletPerk{}, History: []walletHistory{}, GuestPasses: []walletGuest{}}
	if status == string(model.MemberActive) {
		v.CardID, v.Bound = w.Card.ID, w.Bound()
		if !v.Bound { // a bound card's secret is of no use, and a copy of the page must not carry it
			v.SignedPart, v.SecretB32 = w.Card.SignedPart, credential.TOTPSecretBase32(w.Secret)
		}
	}
	for _, p := range view.Perks {
		v.Perks = append(v.Perks, h.walletPerk(lang, p.Perk, p.PartnerName, view.Venues[p.PartnerID]))
	}
	for _, u := range view.Uses {
		at := u.At.In(model.JST())
		h := walletHistory{At: at.Format(time.RFC3339), AtText: at.Format("2006-01-02 15:04"), Partner: u.PartnerName, Venue: u.VenueName,
			Perk: model.Localized(lang, u.PerkTitle, u.PerkTitleEn), PartySize: u.PartySize, Guest: u.Guest, PartyText: h.partyText(lang, u.PartySize)}
		if h.Venue == h.Partner {
			h.Venue = ""
		}
		v.History = append(v.History, h)
	}
	for _, g := range view.GuestPasses {
		v.GuestPasses = append(v.GuestPasses, walletGuest{ID: g.ID, ShareURL: h.cfg.BaseURL + "/g/" + g.ID, PNGURL: "/g/" + g.ID + "/qr.png",
			PartySize: g.PartySize, ValidFrom: g.ValidFrom.In(model.JST()).Format(time.RFC3339), ValidUntil: g.ValidUntil.In(model.JST()).Format(time.RFC3339),
			Uses: g.Uses, MaxUses: g.MaxUses, Status: g.Status})
	}
	return h.render.Render(c, fiber.StatusOK, "wallet", httpkit.PageData{Lang: lang, CSRF: httpkit.CSRFToken(c, h.cfg.CookieSecure), Page: v})
}

type guestView struct {
	HostDisplayName string `json:"host_display_name"`
	PartySize       int    `json:"party_size"`
	ValidFrom       string `json:"valid_from"`
	ValidUntil      string `json:"valid_until"`
	Uses            int    `json:"uses"`
	MaxUses         int    `json:"max_uses"`
	Status          string `json:"status"`
	Code            string `json:"code"`
	PNGURL          string `json:"png_url"`
}

func (h *Handler) guestPage(c *fiber.Ctx) error {
	g, host, err := h.wallet.GuestPass(c.UserContext(), utils.CopyString(c.Params("id")))
	if err != nil {
		return err
	}
	status := g.Status
	now := h.now()
	switch {
	case status != "active":
	case g.Uses >= g.MaxUses:
		status = "used_up"
	case !now.Before(g.ValidUntil):
		status = "expired"
	case host.Status != model.MemberActive:
		status = "revoked"
	}
	v := guestView{HostDisplayName: host.DisplayName(), PartySize: g.PartySize, ValidFrom: g.ValidFrom.In(model.JST()).Format("2006-01-02 15:04"),
		ValidUntil: g.ValidUntil.In(model.JST()).Format("2006-01-02 15:04"), Uses: g.Uses, MaxUses: g.MaxUses, Status: status, Code: g.Code, PNGURL: "/g/" + g.ID + "/qr.png"}
	return h.render.Render(c, fiber.StatusOK, "guest", httpkit.PageData{CSRF: httpkit.CSRFToken(c, h.cfg.CookieSecure), Page: v})
}

func (h *Handler) guestPNG(c *fiber.Ctx) error {
	g, _, err := h.wallet.GuestPass(c.UserContext(), utils.CopyString(c.Params("id")))
	if err != nil {
		return err
	}
	png, err := qrcode.Encode(g.Code, qrcode.Medium, 480)
	if err != nil {
		return err
	}
	c.Set("Content-Type", "image/png")
	c.Set("Cache-Control", "private, max-age=300")
	c.Set("Content-Disposition", `inline; filename="guest-pass.png"`)
	return c.Send(png)
}

type scanView struct {
	Paired      bool              `json:"paired"`
	VenueName   string            `json:"venue_name"`
	PartnerName string            `json:"partner_name"`
	Perks       []any             `json:"perks"`
	Messages    map[string]string `json:"messages"`
}

func (h *Handler) scanPage(c *fiber.Ctx) error {
	lang := h.render.Lang(c)
	v := scanView{Perks: []any{}, Messages: h.cat.Prefix(lang, "scan.")}
	return h.render.Render(c, fiber.StatusOK, "scan", httpkit.PageData{Lang: lang, CSRF: httpkit.CSRFToken(c, h.cfg.CookieSecure), Page: v})
}

// walletMessages drops the enrolment page's texts, which the wallet's
// script never shows, to keep the page light.
func walletMessages(all map[string]string) map[string]string {
	for k := range all {
		if strings.HasPrefix(k, "wallet.enroll.") {
			delete(all, k)
		}
	}
	return all
}

// partyText is "1 person" or "3 people" in the page's language.
func (h *Handler) partyText(lang string, n int) string {
	if n == 1 {
		return h.cat.T(lang, "wallet.history.party.one")
	}
	return strings.ReplaceAll(h.cat.T(lang, "wallet.history.party"), "{n}", strconv.Itoa(n))
}

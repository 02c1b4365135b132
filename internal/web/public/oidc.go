package public

import (
	"context"
	"errors"
	"html/template"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/oidc"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// signIns is what the consent screen asks of the OpenID Provider.
type signIns interface {
	Pending(ctx context.Context, id string) (*oidc.Pending, error)
	Approve(ctx context.Context, id, memberID string, shareProfile bool) (string, error)
	Deny(ctx context.Context, id string) (string, error)
	// The sign-in finished on another device (oidc_device.go).
	ShowOnOtherDevice(ctx context.Context, id, secret string) (*oidc.OtherDeviceCode, error)
	Wait(ctx context.Context, id, secret string) (oidc.Waiting, string, error)
	PendingByUserCode(ctx context.Context, typed string) (*oidc.Pending, error)
}

type approveView struct {
	// State: hop, consent, refused, no_wallet; on the device without the
	// wallet other_device; on the phone, from a user code, enter,
	// approved_elsewhere, denied_elsewhere.
	State       string
	HopURL      string
	ID          string
	ClientName  string
	PartnerName string
	LogoURL     string
	AsksProfile bool
	// Device: the consent is for a sign-in on another device, answered
	// by its user code (shown, to compare with the other screen).
	Device   bool
	UserCode string
	// The waiting device's page: the QR of DeviceURL, the wait and
	// continue URLs its script uses.
	QR          template.URL
	DeviceURL   string
	WaitURL     string
	ContinueURL string
	Minutes     int
	// Error is a message above the code form (a code that matches nothing).
	Error string
}

// approveCSP lets the consent form end at the partner (the approval
// redirects there through /oidc/callback) and shows the partner's logo.
func approveCSP(c *fiber.Ctx, p *oidc.Pending) {
	img := ""
	if u, err := url.Parse(p.LogoURL); err == nil && u.Scheme == "https" && u.Host != "" {
		img = " https://" + u.Host
	}
	c.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:"+img+"; script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self' "+p.RedirectOrigin)
}

// approvePage is where /oidc/authorize sends the member: with the wallet's
// cookie on this device, the consent screen (one tap). The cookie is
// SameSite=Strict, and a partner's site starts the flow cross-site, so a
// first visit without it hops once to this same URL from our own page,
// after which the browser sends it.
func (h *Handler) approvePage(c *fiber.Ctx) error {
	lang := h.render.Lang(c)
	id := utils.CopyString(c.Query("id"))
	p, err := h.signIns.Pending(c.UserContext(), id)
	if err != nil {
		return h.approveError(c, err)
	}
	render := func(status int, v approveView) error {
		approveCSP(c, p)
		c.Set("Cache-Control", "no-store")
		return h.render.Render(c, status, "oidc_approve", httpkit.PageData{Lang: lang, CSRF: httpkit.CSRFToken(c, h.cfg.CookieSecure), Page: v})
	}
	tok := c.Cookies(httpkit.WalletCookie)
	if tok == "" {
		if c.Query("hop") == "" {
			return render(fiber.StatusOK, approveView{State: "hop", HopURL: "/oidc/approve?hop=1&id=" + url.QueryEscape(p.ID)})
		}
		return h.otherDevicePage(c, p, render)
	}
	w, err := h.wallet.Open(c.UserContext(), utils.CopyString(tok))
	if errors.Is(err, model.ErrUnauthorized) {
		return h.otherDevicePage(c, p, render)
	}
	if err != nil {
		return err
	}
	if w.Member.Status != model.MemberActive || w.Card.Status != model.CardActive {
		return render(fiber.StatusForbidden, approveView{State: "refused"})
	}
	return render(fiber.StatusOK, approveView{State: "consent", ID: p.ID, ClientName: p.ClientName, PartnerName: p.PartnerName,
		LogoURL: p.LogoURL, AsksProfile: p.WantsProfile || p.WantsEmail})
}

// approveSubmit answers the consent form: Approve or Deny, then back to
// the partner.
func (h *Handler) approveSubmit(c *fiber.Ctx) error {
	if err := httpkit.CheckCSRF(c); err != nil {
		return err
	}
	id := utils.CopyString(c.FormValue("id"))
	tok := c.Cookies(httpkit.WalletCookie)
	if tok == "" {
		return h.render.Error(c, fiber.StatusUnauthorized, "no_wallet", h.cat.T(h.render.Lang(c), "oidc.no_wallet"))
	}
	w, err := h.wallet.Open(c.UserContext(), utils.CopyString(tok))
	if errors.Is(err, model.ErrUnauthorized) {
		return h.render.Error(c, fiber.StatusUnauthorized, "no_wallet", h.cat.T(h.render.Lang(c), "oidc.no_wallet"))
	}
	if err != nil {
		return err
	}
	var to string
	if c.FormValue("action") == "deny" {
		to, err = h.signIns.Deny(c.UserContext(), id)
	} else {
		if w.Card.Status != model.CardActive {
			return h.render.Error(c, fiber.StatusForbidden, oidc.NotEligibleCode, h.cat.T(h.render.Lang(c), "oidc.refused"))
		}
		to, err = h.signIns.Approve(c.UserContext(), id, w.Member.ID, c.FormValue("share_profile") == "1")
	}
	if err != nil {
		return h.approveError(c, err)
	}
	return c.Redirect(to, fiber.StatusSeeOther)
}

func (h *Handler) approveError(c *fiber.Ctx, err error) error {
	var p *model.Problem
	if errors.As(err, &p) {
		status, _ := httpkit.StatusOf(p)
		msg := p.Message
		if p.Code == oidc.NotEligibleCode {
			msg = h.cat.T(h.render.Lang(c), "oidc.refused")
		}
		return h.render.Error(c, status, p.Code, strings.TrimSpace(msg))
	}
	return err
}

package public

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/oidc"
	"github.com/alumnipass/alumnipass/internal/wallet"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// A sign-in started on a device without the wallet (a laptop) is finished
// on the phone: the laptop's page shows a user code and a QR of
// /oidc/device?code=…, and waits; on the phone, /oidc/device shows the
// consent screen for that code (or a form to type it); once approved
// there, the laptop goes on to the partner. internal/oidc/device.go has
// the rules.

// oidcBrowserCookie binds the waiting browser to its sign-ins: only the
// browser that shows a code can go on once it is approved.
const oidcBrowserCookie = "ap_oidc_browser"

// browserSecret is this browser's binding cookie, set when it has none.
func (h *Handler) browserSecret(c *fiber.Ctx) (string, error) {
	if s := c.Cookies(oidcBrowserCookie); len(s) == 64 {
		if _, err := hex.DecodeString(s); err == nil {
			return utils.CopyString(s), nil
		}
	}
	s, err := oidc.NewBrowserSecret()
	if err != nil {
		return "", err
	}
	c.Cookie(&fiber.Cookie{Name: oidcBrowserCookie, Value: s, Path: "/oidc", HTTPOnly: true, Secure: h.cfg.CookieSecure,
		SameSite: "Lax", MaxAge: int((24 * time.Hour).Seconds())})
	return s, nil
}

// otherDevicePage is the consent page on a device without the wallet: the
// code to confirm on the phone, and a wait for the answer.
func (h *Handler) otherDevicePage(c *fiber.Ctx, p *oidc.Pending, render func(int, approveView) error) error {
	secret, err := h.browserSecret(c)
	if err != nil {
		return err
	}
	code, err := h.signIns.ShowOnOtherDevice(c.UserContext(), p.ID, secret)
	if err != nil {
		return h.approveError(c, err)
	}
	deviceURL := h.cfg.BaseURL + "/oidc/device"
	png, err := qrcode.Encode(deviceURL+"?code="+code.UserCode, qrcode.Medium, 320)
	if err != nil {
		return fmt.Errorf("sign-in qr: %w", err)
	}
	id := url.QueryEscape(p.ID)
	return render(fiber.StatusOK, approveView{State: "other_device", ID: p.ID, ClientName: p.ClientName, PartnerName: p.PartnerName,
		LogoURL: p.LogoURL, UserCode: oidc.FormatUserCode(code.UserCode), DeviceURL: deviceURL,
		QR:      template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)),
		WaitURL: "/oidc/approve/wait?id=" + id, ContinueURL: "/oidc/approve/continue?id=" + id,
		Minutes: max(int(code.ExpiresAt.Sub(h.now()).Round(time.Minute).Minutes()), 1)})
}

// approveWait answers the waiting page's script: pending, approved (with
// the URL that goes on) or gone. To a browser without the binding cookie
// every sign-in is gone.
func (h *Handler) approveWait(c *fiber.Ctx) error {
	id := utils.CopyString(c.Query("id"))
	state, _, err := h.signIns.Wait(c.UserContext(), id, c.Cookies(oidcBrowserCookie))
	if err != nil {
		return err
	}
	c.Set("Cache-Control", "no-store")
	out := fiber.Map{"state": state}
	if state == oidc.WaitingApproved {
		out["continue"] = "/oidc/approve/continue?id=" + url.QueryEscape(id)
	}
	return c.JSON(out)
}

// approveContinue takes the waiting browser on to the partner once the
// member has approved on the phone; before that, back to the waiting page.
func (h *Handler) approveContinue(c *fiber.Ctx) error {
	id := utils.CopyString(c.Query("id"))
	state, to, err := h.signIns.Wait(c.UserContext(), id, c.Cookies(oidcBrowserCookie))
	if err != nil {
		return err
	}
	c.Set("Cache-Control", "no-store")
	switch state {
	case oidc.WaitingApproved:
		return c.Redirect(to, fiber.StatusSeeOther)
	case oidc.WaitingPending:
		return c.Redirect("/oidc/approve?hop=1&id="+url.QueryEscape(id), fiber.StatusSeeOther)
	}
	return h.render.Error(c, fiber.StatusNotFound, "sign_in_not_found", h.cat.T(h.render.Lang(c), "oidc.other.gone"))
}

// deviceWallet opens the phone's wallet for /oidc/device: nil with a page
// already rendered when there is none to answer with.
func (h *Handler) deviceWallet(c *fiber.Ctx, render func(int, approveView) error) (*wallet.Wallet, error) {
	tok := c.Cookies(httpkit.WalletCookie)
	if tok == "" {
		if c.Method() == fiber.MethodGet && c.Query("hop") == "" {
			// Opened from the camera app or a link: one same-site hop, so
			// that the browser sends the SameSite=Strict wallet cookie.
			return nil, render(fiber.StatusOK, approveView{State: "hop", HopURL: "/oidc/device?hop=1&code=" + url.QueryEscape(c.Query("code"))})
		}
		return nil, render(fiber.StatusUnauthorized, h.deviceNoWallet(c))
	}
	w, err := h.wallet.Open(c.UserContext(), utils.CopyString(tok))
	if errors.Is(err, model.ErrUnauthorized) {
		return nil, render(fiber.StatusUnauthorized, h.deviceNoWallet(c))
	}
	if err != nil {
		return nil, err
	}
	if w.Member.Status != model.MemberActive || w.Card.Status != model.CardActive {
		return nil, render(fiber.StatusForbidden, approveView{State: "refused"})
	}
	return w, nil
}

// deviceNoWallet is /oidc/device in a browser without the wallet, as when
// the camera opens the QR in a browser other than the one the card lives
// in (an installed card on iOS keeps its own cookies): the page says to
// open the card and type the code, and shows it.
func (h *Handler) deviceNoWallet(c *fiber.Ctx) approveView {
	code := c.Query("code")
	if c.Method() == fiber.MethodPost {
		code = c.FormValue("code")
	}
	v := approveView{State: "no_wallet", Device: true}
	if n := oidc.NormalizeUserCode(code); n != "" {
		v.UserCode = oidc.FormatUserCode(n)
	}
	return v
}

// errUserCodeLimited: too many codes that matched nothing.
var errUserCodeLimited = errors.New("user code lookups over the limit")

// userCodeLookup finds the sign-in of a typed or scanned code. Codes that
// match nothing count against the client address and the member, across
// instances; a code that matches is given back.
func (h *Handler) userCodeLookup(c *fiber.Ctx, memberID, typed string) (*oidc.Pending, error) {
	ctx := c.UserContext()
	var slots []httpkit.SharedSlot
	for _, key := range []string{"ip:" + c.IP(), "member:" + memberID} {
		slot, ok, wait, err := h.limits.UserCode.Take(ctx, key)
		if err != nil {
			return nil, err
		}
		if !ok {
			h.metrics.Throttled.WithLabelValues("user_code").Inc()
			c.Set("Retry-After", strconv.Itoa(max(int(wait.Seconds()+0.999), 1)))
			return nil, errUserCodeLimited
		}
		slots = append(slots, slot)
	}
	p, err := h.signIns.PendingByUserCode(ctx, typed)
	if err != nil {
		return nil, err
	}
	for _, s := range slots {
		if err := h.limits.UserCode.Refund(ctx, s); err != nil {
			h.log.Warn("user code limit refund", "err", err)
		}
	}
	return p, nil
}

// deviceRender renders /oidc/device's states in the consent template.
func (h *Handler) deviceRender(c *fiber.Ctx) func(int, approveView) error {
	return func(status int, v approveView) error {
		c.Set("Cache-Control", "no-store")
		return h.render.Render(c, status, "oidc_approve", httpkit.PageData{Lang: h.render.Lang(c), CSRF: httpkit.CSRFToken(c, h.cfg.CookieSecure), Page: v})
	}
}

// lookupFailed renders the code form again after a code that found
// nothing (or too many of them), with what was typed.
func (h *Handler) lookupFailed(c *fiber.Ctx, render func(int, approveView) error, typed string, err error) error {
	lang := h.render.Lang(c)
	var p *model.Problem
	switch {
	case errors.Is(err, errUserCodeLimited):
		return render(fiber.StatusTooManyRequests, approveView{State: "enter", UserCode: typed, Error: h.cat.T(lang, "oidc.device.limited")})
	case errors.As(err, &p) && p.Code == oidc.UserCodeNotFoundCode:
		return render(fiber.StatusNotFound, approveView{State: "enter", UserCode: typed, Error: h.cat.T(lang, "oidc.device.not_found")})
	}
	return err
}

// devicePage is /oidc/device on the phone: with a code (from the QR or
// typed), the consent screen for that sign-in; without, the form to type
// it.
func (h *Handler) devicePage(c *fiber.Ctx) error {
	render := h.deviceRender(c)
	w, err := h.deviceWallet(c, render)
	if w == nil {
		return err
	}
	typed := utils.CopyString(c.Query("code"))
	if typed == "" {
		return render(fiber.StatusOK, approveView{State: "enter"})
	}
	p, err := h.userCodeLookup(c, w.Member.ID, typed)
	if err != nil {
		return h.lookupFailed(c, render, typed, err)
	}
	approveCSP(c, p)
	return render(fiber.StatusOK, approveView{State: "consent", Device: true, UserCode: oidc.FormatUserCode(p.UserCode),
		ClientName: p.ClientName, PartnerName: p.PartnerName, LogoURL: p.LogoURL, AsksProfile: p.WantsProfile || p.WantsEmail})
}

// deviceSubmit answers the phone's consent for a sign-in on another
// device: the answer is recorded here, and the other device goes on by
// itself.
func (h *Handler) deviceSubmit(c *fiber.Ctx) error {
	if err := httpkit.CheckCSRF(c); err != nil {
		return err
	}
	render := h.deviceRender(c)
	w, err := h.deviceWallet(c, render)
	if w == nil {
		return err
	}
	typed := utils.CopyString(c.FormValue("code"))
	p, err := h.userCodeLookup(c, w.Member.ID, typed)
	if err != nil {
		return h.lookupFailed(c, render, typed, err)
	}
	if c.FormValue("action") == "deny" {
		if _, err := h.signIns.Deny(c.UserContext(), p.ID); err != nil {
			return h.approveError(c, err)
		}
		return render(fiber.StatusOK, approveView{State: "denied_elsewhere", ClientName: p.ClientName})
	}
	if _, err := h.signIns.Approve(c.UserContext(), p.ID, w.Member.ID, c.FormValue("share_profile") == "1"); err != nil {
		return h.approveError(c, err)
	}
	return render(fiber.StatusOK, approveView{State: "approved_elsewhere", ClientName: p.ClientName})
}

// compile-time check that the provider offers what the pages use.
var _ signIns = (*oidc.Provider)(nil)

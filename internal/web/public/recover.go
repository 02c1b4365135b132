package public

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/alumnipass/alumnipass/internal/mailer"
	"github.com/alumnipass/alumnipass/internal/members"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// recoveryService is what the lost-phone pages ask of the membership.
type recoveryService interface {
	RequestRecovery(ctx context.Context, email string) ([]members.RecoveryMail, error)
	RecoveryLinkLive(ctx context.Context, token string) (bool, error)
	Recover(ctx context.Context, token string) (*members.IssuedCard, error)
}

// recoverView is the lost-phone page in one of its states: ask (the form),
// sent (the same answer whether the address is known or not), confirm (a
// link from the e-mail, asking before it replaces the card) and invalid.
type recoverView struct {
	State string
	Token string
}

func (h *Handler) recoverPage(c *fiber.Ctx, status int, v recoverView) error {
	return h.render.Render(c, status, "recover", httpkit.PageData{Lang: h.render.Lang(c), CSRF: httpkit.CSRFToken(c, h.cfg.CookieSecure), Page: v})
}

func (h *Handler) recoverAsk(c *fiber.Ctx) error {
	return h.recoverPage(c, fiber.StatusOK, recoverView{State: "ask"})
}

// recoverRequest sends a lost-phone link to the e-mail on file. The answer
// is the same whether the address is known, unknown or malformed, and the
// address is looked up only after the answer, so neither the page nor its
// timing tells.
// Requests are limited per client address and per e-mail address.
func (h *Handler) recoverRequest(c *fiber.Ctx) error {
	if err := httpkit.CheckCSRF(c); err != nil {
		return err
	}
	email := strings.ToLower(strings.TrimSpace(utils.CopyString(c.FormValue("email"))))
	mail := sha256.Sum256([]byte(email)) // the shared counts hold no e-mail addresses
	for _, key := range []string{"ip:" + c.IP(), "mail:" + hex.EncodeToString(mail[:])} {
		_, ok, wait, err := h.limits.Recover.Take(c.UserContext(), key)
		if err != nil {
			return err
		}
		if !ok {
			h.metrics.Throttled.WithLabelValues("recover").Inc()
			c.Set("Retry-After", strconv.Itoa(max(int(wait.Seconds()+0.999), 1)))
			return h.recoverPage(c, fiber.StatusTooManyRequests, recoverView{State: "limited"})
		}
	}
	go h.sendRecovery(email)
	return h.recoverPage(c, fiber.StatusOK, recoverView{State: "sent"})
}

// sendRecovery looks the address up and mails each of its active members a
// lost-phone link, in the member's language, after the page has answered.
func (h *Handler) sendRecovery(email string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mails, err := h.recovery.RequestRecovery(ctx, email)
	if err != nil {
		h.log.Error("recovery request", "err", err)
		return
	}
	for _, m := range mails {
		h.mailRecovery(ctx, m)
	}
}

func (h *Handler) mailRecovery(ctx context.Context, m members.RecoveryMail) {
	mail, err := httpkit.NewMailer(h.cfg, h.now)
	if err != nil {
		h.log.Error("recovery e-mail: mailer", "err", err)
		return
	}
	lang := m.Member.Locale
	name := m.Member.FamilyName + " " + m.Member.GivenName
	if lang == model.LocaleEN {
		name = m.Member.GivenName + " " + m.Member.FamilyName
	}
	body := strings.NewReplacer("{name}", name, "{url}", h.cfg.BaseURL+"/w/recover/"+m.Token,
		"{minutes}", strconv.Itoa(int(members.RecoveryLife.Minutes()))).Replace(h.cat.T(lang, "wallet.recover.mail.body"))
	if _, err := mail.Send(ctx, mailer.Message{To: m.Member.Email, ToName: name, Subject: h.cat.T(lang, "wallet.recover.mail.subject"), Body: body}); err != nil {
		h.log.Warn("recovery e-mail not sent", "member_id", m.Member.ID, "err", err)
	}
}

// recoverLink is the link from the e-mail: it asks before anything
// changes, so that a mail scanner that follows links replaces nothing.
func (h *Handler) recoverLink(c *fiber.Ctx) error {
	token := utils.CopyString(c.Params("token"))
	live, err := h.recovery.RecoveryLinkLive(c.UserContext(), token)
	if err != nil {
		return err
	}
	if !live {
		return h.recoverPage(c, fiber.StatusNotFound, recoverView{State: "invalid"})
	}
	return h.recoverPage(c, fiber.StatusOK, recoverView{State: "confirm", Token: token})
}

// recoverConfirm replaces the card and sends the new phone to enrol it.
func (h *Handler) recoverConfirm(c *fiber.Ctx) error {
	if err := httpkit.CheckCSRF(c); err != nil {
		return err
	}
	issued, err := h.recovery.Recover(c.UserContext(), utils.CopyString(c.Params("token")))
	if err != nil {
		var p *model.Problem
		if errors.As(err, &p) {
			return h.recoverPage(c, fiber.StatusNotFound, recoverView{State: "invalid"})
		}
		return err
	}
	return c.Redirect("/w/enroll/"+issued.EnrollmentToken, fiber.StatusSeeOther)
}

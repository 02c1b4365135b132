package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/alumnipass/alumnipass/internal/members"
	"github.com/alumnipass/alumnipass/internal/model"
)

// auditRow is one audit entry as the console shows it.
type auditRow struct {
	At, Actor, ActorType, ActorURL string
	Action, ActionLabel            string
	TargetType, Target, TargetURL  string
	RequestID, Before, After       string
}

// auditActions are the actions the filter offers, in the order HR thinks
// of them.
func auditActions() []string {
	return []string{"member.create", "member.import", "member.import_create", "member.import_update", "member.suspend",
		"member.reinstate", "member.revoke", "member.export", "member.erase", "card.issue", "card.reissue",
		"card.enrollment_sent", "card.enroll", "partner.create", "venue.create", "perk.create", "device_key.create",
		"device_key.revoke", "device.pairing_code", "admin.create", "admin.totp_enrolled", "token.create",
		"signing_key.rotate", "signing_key.retire"}
}

// auditTable is what the shared audit table block gets: its rows and the
// language of its headings.
type auditTable struct {
	Lang string
	Rows []auditRow
}

func (h *Handler) auditRows(lang string, es []model.AuditEntry) auditTable {
	out := make([]auditRow, 0, len(es))
	for _, e := range es {
		r := auditRow{At: consoleTime(e.At), Actor: e.ActorName, ActorType: h.consoleLabel(lang, "admin.actor.", e.ActorType), Action: e.Action,
			ActionLabel: h.consoleLabel(lang, "admin.action.", e.Action), TargetType: h.consoleLabel(lang, "admin.target.", e.TargetType),
			Target: consoleShortID(e.TargetID), RequestID: e.RequestID, Before: auditJSON(e.Before), After: auditJSON(e.After)}
		if r.Actor == "" {
			r.Actor = e.ActorID
		}
		r.ActorURL = "/admin/audit?" + url.Values{"actor": {e.ActorID}}.Encode()
		switch e.TargetType {
		case "member":
			r.TargetURL = "/admin/members/" + e.TargetID
		case "partner":
			r.TargetURL = "/admin/partners/" + e.TargetID
		default:
			r.TargetURL = "/admin/audit?" + url.Values{"target": {e.TargetID}}.Encode()
		}
		out = append(out, r)
	}
	return auditTable{Lang: lang, Rows: out}
}

// auditJSON indents an audit image for reading; other text is kept.
func auditJSON(s string) string {
	if s == "" {
		return ""
	}
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(s), "", "  "); err != nil {
		return s
	}
	return b.String()
}

type auditView struct {
	Actor, Target, Action, Since, Until string
	Actions                             []consoleOption
	Table                               auditTable
	NextURL, FirstURL                   string
}

const auditPage = 50

func (h *Handler) adminAudit(c *fiber.Ctx) error {
	ctx := c.UserContext()
	lang := h.render.Lang(c)
	v := auditView{Actor: strings.TrimSpace(utils.CopyString(c.Query("actor"))), Target: strings.TrimSpace(utils.CopyString(c.Query("target"))),
		Action: utils.CopyString(c.Query("action")), Since: utils.CopyString(c.Query("since")), Until: utils.CopyString(c.Query("until"))}
	for _, a := range auditActions() {
		v.Actions = append(v.Actions, consoleOption{Value: a, Label: h.consoleLabel(lang, "admin.action.", a), Selected: a == v.Action})
	}
	f := members.AuditFilter{ActorID: v.Actor, TargetID: v.Target, Action: v.Action, Before: utils.CopyString(c.Query("cursor")), Limit: auditPage}
	bad := func(key string) error {
		return h.consolePage(c, fiber.StatusBadRequest, "admin_audit", "audit", v, consoleNotice{Text: h.cat.T(lang, key), Tone: "bad"})
	}
	if strings.Contains(v.Actor, "@") {
		a, err := h.auth.AdminByEmail(ctx, v.Actor)
		switch {
		case errors.Is(err, model.ErrNotFound):
			f.ActorID = "-"
		case err != nil:
			return err
		default:
			f.ActorID = a.ID
		}
	}
	var err error
	if f.Since, err = consoleDay(v.Since, 0); err != nil {
		return bad("admin.audit.bad_date")
	}
	if f.Until, err = consoleDay(v.Until, 1); err != nil {
		return bad("admin.audit.bad_date")
	}
	es, err := h.members.Audit(ctx, f)
	if err != nil {
		return err
	}
	v.Table = h.auditRows(lang, es)
	q := url.Values{}
	for k, val := range map[string]string{"actor": v.Actor, "target": v.Target, "action": v.Action, "since": v.Since, "until": v.Until} {
		if val != "" {
			q.Set(k, val)
		}
	}
	if f.Before != "" {
		v.FirstURL = "/admin/audit?" + q.Encode()
	}
	if len(es) == auditPage {
		q.Set("cursor", es[len(es)-1].ID)
		v.NextURL = "/admin/audit?" + q.Encode()
	}
	return h.consolePage(c, fiber.StatusOK, "admin_audit", "audit", v, consoleNotice{})
}

// consoleDay reads a YYYY-MM-DD date as the start of that day in Japan time,
// plus days; "" is no bound.
func consoleDay(v string, days int) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation("2006-01-02", v, model.JST())
	if err != nil {
		return time.Time{}, err
	}
	return t.AddDate(0, 0, days), nil
}

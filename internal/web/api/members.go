package api

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/alumnipass/alumnipass/internal/members"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

func (h *Handler) getKeys(c *fiber.Ctx) error {
	c.Set("Cache-Control", "public, max-age=300")
	return c.JSON(fiber.Map{"keys": h.keys.JWKS()})
}

func (h *Handler) createMember(c *fiber.Ctx) error {
	var in members.Input
	if err := httpkit.BindJSON(c, &in); err != nil {
		return err
	}
	m, err := h.members.Create(c.UserContext(), httpkit.Principal(c), in)
	if err != nil {
		return err
	}
	return httpkit.Created(c, m)
}

func (h *Handler) listMembers(c *fiber.Ctx) error {
	limit := 50
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return model.Invalidf("limit", "invalid_limit", "limit must be a whole number from 1 to 200")
		}
		limit = n
	}
	ms, next, err := h.members.List(c.UserContext(), members.MemberFilter{
		Query: utils.CopyString(c.Query("q")), Status: utils.CopyString(c.Query("status")),
		Tier: utils.CopyString(c.Query("tier")), After: utils.CopyString(c.Query("cursor")), Limit: limit})
	if err != nil {
		return err
	}
	var nc any
	if next != "" {
		nc = next
	}
	return c.JSON(fiber.Map{"members": ms, "next_cursor": nc})
}

func (h *Handler) getMember(c *fiber.Ctx) error {
	d, err := h.members.Get(c.UserContext(), utils.CopyString(c.Params("id")))
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func (h *Handler) memberStatus(action string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var in struct {
			Reason string `json:"reason"`
		}
		if len(strings.TrimSpace(string(c.Body()))) > 0 || action == members.ActionRevoke {
			if err := httpkit.BindJSON(c, &in); err != nil {
				return err
			}
		}
		m, err := h.members.ChangeStatus(c.UserContext(), httpkit.Principal(c), utils.CopyString(c.Params("id")), action, in.Reason)
		if err != nil {
			return err
		}
		return c.JSON(m)
	}
}

func (h *Handler) issueCard(c *fiber.Ctx) error {
	out, err := h.members.IssueCard(c.UserContext(), httpkit.Principal(c), utils.CopyString(c.Params("id")))
	if err != nil {
		return err
	}
	return httpkit.Created(c, out)
}

func (h *Handler) importMembers(c *fiber.Ctx) error {
	ct := strings.ToLower(c.Get(fiber.HeaderContentType))
	if !strings.HasPrefix(ct, "text/csv") && !strings.HasPrefix(ct, "application/octet-stream") && !strings.HasPrefix(ct, "text/plain") {
		return model.NewProblem(model.ErrInvalid, "unsupported_media_type", "Send the CSV file as the body with Content-Type: text/csv.")
	}
	enc := c.Query("encoding")
	if enc == "" {
		if _, params, ok := strings.Cut(ct, "charset="); ok {
			enc = strings.Trim(params, `"; `)
		}
	}
	dry := c.Query("dry_run") == "1" || c.Query("dry_run") == "true"
	rep, err := h.members.Import(c.UserContext(), httpkit.Principal(c), c.Body(), utils.CopyString(enc), dry)
	if err != nil {
		return err
	}
	if len(rep.Problems) > 0 {
		return c.Status(fiber.StatusUnprocessableEntity).JSON(fiber.Map{
			"error":  httpkit.APIErrorBody{Code: "import_has_problems", Message: "The file has problems; nothing was imported. Fix the lines listed and upload it again."},
			"report": rep,
		})
	}
	return c.JSON(rep)
}

func (h *Handler) listAudit(c *fiber.Ctx) error {
	f := members.AuditFilter{ActorID: utils.CopyString(c.Query("actor")), TargetID: utils.CopyString(c.Query("target")),
		TargetType: utils.CopyString(c.Query("target_type")), Action: utils.CopyString(c.Query("action")), Before: utils.CopyString(c.Query("cursor"))}
	var err error
	if f.Since, err = parseTimeParam(c, "since"); err != nil {
		return err
	}
	if f.Until, err = parseTimeParam(c, "until"); err != nil {
		return err
	}
	if v := c.Query("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > 500 {
			return model.Invalidf("limit", "invalid_limit", "limit must be a whole number from 1 to 500")
		}
	}
	es, err := h.members.Audit(c.UserContext(), f)
	if err != nil {
		return err
	}
	var next any
	if f.Limit > 0 && len(es) == f.Limit || f.Limit == 0 && len(es) == 100 {
		next = es[len(es)-1].ID
	}
	return c.JSON(fiber.Map{"entries": es, "next_cursor": next})
}

func parseTimeParam(c *fiber.Ctx, name string) (time.Time, error) {
	v, _ := url.QueryUnescape(c.Query(name))
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	return time.Time{}, model.Invalidf(name, "invalid_time", name+" must be an RFC 3339 time or a date (YYYY-MM-DD)")
}

func (h *Handler) exportMember(c *fiber.Ctx) error {
	e, err := h.members.Export(c.UserContext(), httpkit.Principal(c), utils.CopyString(c.Params("id")))
	if err != nil {
		return err
	}
	c.Set("Content-Disposition", `attachment; filename="member-export.json"`)
	c.Set("Cache-Control", "no-store")
	return c.JSON(e)
}

func (h *Handler) eraseMember(c *fiber.Ctx) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := httpkit.BindJSON(c, &in); err != nil {
		return err
	}
	if err := h.members.Erase(c.UserContext(), httpkit.Principal(c), utils.CopyString(c.Params("id")), in.Reason); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"erased": true})
}

package api

import (
	"context"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/alumnipass/alumnipass/internal/jobs"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// jobService is what the invitation routes call (jobs.Service).
type jobService interface {
	Invite(ctx context.Context, p *model.Principal, source string, memberIDs []string) (*model.Job, error)
	InviteSearch(ctx context.Context, p *model.Principal, s jobs.Search) (*model.Job, error)
	Remind(ctx context.Context, p *model.Principal, days int) (*model.Job, error)
	Progress(ctx context.Context, id string) (*jobs.Progress, error)
	List(ctx context.Context, limit int) ([]model.Job, error)
	Items(ctx context.Context, id, state string, after, limit int) ([]model.JobItem, error)
	Cancel(ctx context.Context, p *model.Principal, id string) error
}

// createInvitation starts a bulk invitation: for the members named (an
// import's lines), the members a search finds, or those whose link went
// unused for some days. It answers 202 at once; the job runs on whichever
// instance's worker claims its items.
func (h *Handler) createInvitation(c *fiber.Ctx) error {
	var in struct {
		MemberIDs       []string     `json:"member_ids"`
		Search          *jobs.Search `json:"search"`
		NotEnrolledDays *int         `json:"not_enrolled_days"`
	}
	if err := httpkit.BindJSONUpTo(c, &in, httpkit.MaxListBody); err != nil {
		return err
	}
	given := 0
	for _, ok := range []bool{in.MemberIDs != nil, in.Search != nil, in.NotEnrolledDays != nil} {
		if ok {
			given++
		}
	}
	if given != 1 {
		return model.Invalidf("member_ids", "invalid_invitation", "give exactly one of member_ids, search or not_enrolled_days")
	}
	ctx, p := c.UserContext(), httpkit.Principal(c)
	var j *model.Job
	var err error
	switch {
	case in.MemberIDs != nil:
		j, err = h.jobs.Invite(ctx, p, jobs.SourceMembers, in.MemberIDs)
	case in.Search != nil:
		j, err = h.jobs.InviteSearch(ctx, p, *in.Search)
	default:
		j, err = h.jobs.Remind(ctx, p, *in.NotEnrolledDays)
	}
	if err != nil {
		return err
	}
	pr, err := h.jobs.Progress(ctx, j.ID)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderLocation, "/api/v1/invitations/"+j.ID)
	return c.Status(fiber.StatusAccepted).JSON(pr)
}

func (h *Handler) listInvitations(c *fiber.Ctx) error {
	js, err := h.jobs.List(c.UserContext(), 50)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"invitations": js})
}

func (h *Handler) getInvitation(c *fiber.Ctx) error {
	pr, err := h.jobs.Progress(c.UserContext(), utils.CopyString(c.Params("id")))
	if err != nil {
		return err
	}
	return c.JSON(pr)
}

var itemStates = map[string]bool{"": true, model.ItemPending: true, model.ItemClaimed: true, model.ItemSending: true,
	model.ItemSent: true, model.ItemBounced: true, model.ItemNoEmail: true, model.ItemSkipped: true,
	model.ItemFailed: true, model.ItemUnknown: true, model.ItemCancelled: true}

// invitationItems lists each member's result, in the job's order.
func (h *Handler) invitationItems(c *fiber.Ctx) error {
	state := utils.CopyString(c.Query("state"))
	if !itemStates[state] {
		return model.Invalidf("state", "invalid_state", "state must be pending, claimed, sending, sent, bounced, no_email, skipped, failed, unknown or cancelled")
	}
	after, limit := 0, 200
	if v := c.Query("cursor"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return model.Invalidf("cursor", "invalid_cursor", "cursor must be the next_cursor of the previous page")
		}
		after = n
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return model.Invalidf("limit", "invalid_limit", "limit must be a whole number from 1 to 1000")
		}
		limit = n
	}
	is, err := h.jobs.Items(c.UserContext(), utils.CopyString(c.Params("id")), state, after, limit)
	if err != nil {
		return err
	}
	var next any
	if len(is) == limit {
		next = strconv.Itoa(is[len(is)-1].Seq)
	}
	return c.JSON(fiber.Map{"items": is, "next_cursor": next})
}

func (h *Handler) cancelInvitation(c *fiber.Ctx) error {
	id := utils.CopyString(c.Params("id"))
	if err := h.jobs.Cancel(c.UserContext(), httpkit.Principal(c), id); err != nil {
		return err
	}
	pr, err := h.jobs.Progress(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(pr)
}

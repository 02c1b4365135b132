package console

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/alumnipass/alumnipass/internal/jobs"
	"github.com/alumnipass/alumnipass/internal/members"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/web/httpkit"
)

// Bulk invitations in the HR console: the list of jobs, a job's page with
// its progress and per-member results, and the three ways to start one —
// the members an import created or updated, every member a search finds,
// and a reminder to those whose link went unused. The jobs themselves run
// in the background (internal/jobs); these pages only create, show and
// cancel them.

// jobService is what the invitation pages call (jobs.Service).
type jobService interface {
	Invite(ctx context.Context, p *model.Principal, source string, memberIDs []string) (*model.Job, error)
	InviteSearch(ctx context.Context, p *model.Principal, s jobs.Search) (*model.Job, error)
	Remind(ctx context.Context, p *model.Principal, days int) (*model.Job, error)
	Progress(ctx context.Context, id string) (*jobs.Progress, error)
	List(ctx context.Context, limit int) ([]model.Job, error)
	Items(ctx context.Context, id, state string, after, limit int) ([]model.JobItem, error)
	Cancel(ctx context.Context, p *model.Principal, id string) error
}

// jobItemsPage is how many members a job page lists at once.
const jobItemsPage = 50

// jobCountStates are the results a job page counts, in the order shown.
var jobCountStates = []string{model.ItemSent, model.ItemBounced, model.ItemNoEmail, model.ItemSkipped,
	model.ItemFailed, model.ItemUnknown, model.ItemCancelled}

// jobCount is one result and how many members had it.
type jobCount struct {
	State, Label string
	N            int
}

// jobSummary is what the list and a job's page show of a job.
type jobSummary struct {
	ID, URL, CreatedAt, FinishedAt, Source, SourceLabel, CreatedBy, Status, StatusLabel string
	Total, Settled, Percent                                                             int
	Counts                                                                              []jobCount
	Running                                                                             bool
}

type invitationsView struct {
	Rows  []jobSummary
	Days  string
	Field string
}

type jobItemRow struct {
	Position                                          int
	MemberURL, Name, EmployeeNo, State, Label, Detail string
}

type jobView struct {
	Job      jobSummary
	Items    []jobItemRow
	NextURL  string
	FirstURL string
}

type inviteSearchView struct {
	Q, Status, Tier, StatusLabel string
	Count                        int
	TooMany                      bool
	Max                          int
	BackURL                      string
}

func (h *Handler) jobSummary(lang string, pr *jobs.Progress) jobSummary {
	j := pr.Job
	s := jobSummary{ID: j.ID, URL: "/admin/invitations/" + j.ID, CreatedAt: consoleTime(j.CreatedAt), FinishedAt: consoleTimePtr(j.FinishedAt),
		Source: j.Source, SourceLabel: h.consoleLabel(lang, "admin.invitations.source.", j.Source), CreatedBy: j.ActorName,
		Status: j.Status, StatusLabel: h.consoleLabel(lang, "admin.invitations.status.", j.Status),
		Total: j.Total, Settled: pr.Settled, Percent: jobPercent(pr.Settled, j.Total), Running: j.Status == model.JobRunning}
	for _, st := range jobCountStates {
		s.Counts = append(s.Counts, jobCount{State: st, Label: h.consoleLabel(lang, "admin.invitations.state.", st), N: pr.Counts[st]})
	}
	return s
}

// jobPercent is the share of a job's members settled, rounded down, so
// that 100 means every one.
func jobPercent(settled, total int) int {
	if total <= 0 {
		return 100
	}
	return settled * 100 / total
}

// adminInvitations lists the latest invitation jobs.
func (h *Handler) adminInvitations(c *fiber.Ctx) error {
	return h.invitationsPage(c, fiber.StatusOK, invitationsView{Days: "14"}, consoleNotice{})
}

func (h *Handler) invitationsPage(c *fiber.Ctx, status int, v invitationsView, n consoleNotice) error {
	ctx, lang := c.UserContext(), h.render.Lang(c)
	js, err := h.jobs.List(ctx, 50)
	if err != nil {
		return err
	}
	for _, j := range js {
		pr, err := h.jobs.Progress(ctx, j.ID)
		if err != nil {
			return err
		}
		v.Rows = append(v.Rows, h.jobSummary(lang, pr))
	}
	return h.consolePage(c, status, "admin_invitations", "invitations", v, n)
}

// adminInvitation is a job's page: its progress as it is now (a reload
// shows it; static/js/invitations.js keeps it current) and a page of
// per-member results.
func (h *Handler) adminInvitation(c *fiber.Ctx) error {
	ctx, lang := c.UserContext(), h.render.Lang(c)
	id := utils.CopyString(c.Params("id"))
	pr, err := h.jobs.Progress(ctx, id)
	if err != nil {
		return err
	}
	after := 0
	if v := c.Query("after"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return model.Invalidf("after", "invalid_cursor", "after must be a position in the job")
		}
		after = n
	}
	items, err := h.jobs.Items(ctx, id, "", after, jobItemsPage)
	if err != nil {
		return err
	}
	v := jobView{Job: h.jobSummary(lang, pr)}
	if v.Items, err = h.jobItemRows(ctx, lang, items); err != nil {
		return err
	}
	if after > 0 {
		v.FirstURL = v.Job.URL
	}
	if len(items) == jobItemsPage && items[len(items)-1].Seq < pr.Total {
		v.NextURL = v.Job.URL + "?after=" + strconv.Itoa(items[len(items)-1].Seq)
	}
	return h.consolePage(c, fiber.StatusOK, "admin_invitation", "invitations", v, consoleNotice{})
}

// jobItemRows names the members of a page of items.
func (h *Handler) jobItemRows(ctx context.Context, lang string, items []model.JobItem) ([]jobItemRow, error) {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.MemberID
	}
	ms, err := h.members.ByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	rows := make([]jobItemRow, 0, len(items))
	for _, it := range items {
		r := jobItemRow{Position: it.Seq, MemberURL: "/admin/members/" + it.MemberID, State: it.State,
			Label: h.consoleLabel(lang, "admin.invitations.state.", it.State)}
		if m, ok := ms[it.MemberID]; ok {
			r.Name, r.EmployeeNo = consoleName(lang, m.FamilyName, m.GivenName), m.EmployeeNo
		}
		switch it.State {
		case model.ItemSkipped:
			r.Detail = h.consoleLabel(lang, "admin.invitations.detail.", it.Detail)
		case model.ItemBounced:
			r.Detail = it.Detail // the mail server's refusal, which HR needs to read
		case model.ItemUnknown:
			r.Detail = h.cat.T(lang, "admin.invitations.detail.unknown")
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// adminInvitationProgress is a job's progress as JSON, for the job page's
// script: the same body as GET /api/v1/invitations/{id}, on the session.
func (h *Handler) adminInvitationProgress(c *fiber.Ctx) error {
	pr, err := h.jobs.Progress(c.UserContext(), utils.CopyString(c.Params("id")))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(pr)
}

// adminInvitationCreate starts a job for the members named: the import
// result page sends the members its import created or updated.
func (h *Handler) adminInvitationCreate(c *fiber.Ctx) error {
	var ids []string
	for _, id := range strings.Split(consoleForm(c, "member_ids"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	j, err := h.jobs.Invite(c.UserContext(), httpkit.Principal(c), jobs.SourceMembers, ids)
	return h.invitationStarted(c, j, err, invitationsView{Days: "14"})
}

// adminInvitationRemind starts a reminder job: members whose enrolment
// link has gone unused for the days given get a new one.
func (h *Handler) adminInvitationRemind(c *fiber.Ctx) error {
	raw := consoleForm(c, "days")
	v := invitationsView{Days: raw, Field: "days"}
	days, err := strconv.Atoi(raw)
	if err != nil {
		return h.invitationStarted(c, nil, model.Invalidf("not_enrolled_days", "invalid_days", "not_enrolled_days must be between 1 and 365"), v)
	}
	j, err := h.jobs.Remind(c.UserContext(), httpkit.Principal(c), days)
	return h.invitationStarted(c, j, err, v)
}

// invitationStarted sends the browser to a new job's page, or shows the
// list with the reason no job was made.
func (h *Handler) invitationStarted(c *fiber.Ctx, j *model.Job, err error, v invitationsView) error {
	if err != nil {
		msg, _, status, ok := h.formProblem(h.render.Lang(c), err)
		if !ok {
			return err
		}
		return h.invitationsPage(c, status, v, consoleNotice{Text: msg, Tone: "bad"})
	}
	return c.Redirect("/admin/invitations/"+j.ID+"?msg=invitations_started", fiber.StatusSeeOther)
}

// adminInviteSearchConfirm says how many members a search finds before
// they are all invited.
func (h *Handler) adminInviteSearchConfirm(c *fiber.Ctx) error {
	ctx, lang := c.UserContext(), h.render.Lang(c)
	v := inviteSearchView{Q: utils.CopyString(c.Query("q")), Status: utils.CopyString(c.Query("status")),
		Tier: utils.CopyString(c.Query("tier")), Max: jobs.MaxMembers}
	if v.Status != "" {
		v.StatusLabel = h.consoleLabel(lang, "admin.status.", v.Status)
	}
	q := url.Values{}
	for k, val := range map[string]string{"q": v.Q, "status": v.Status, "tier": v.Tier} {
		if val != "" {
			q.Set(k, val)
		}
	}
	v.BackURL = "/admin/members?" + q.Encode()
	f := members.MemberFilter{Query: v.Q, Status: v.Status, Tier: v.Tier, Limit: 200}
	for {
		ms, next, err := h.members.List(ctx, f)
		if err != nil {
			msg, _, status, ok := h.formProblem(lang, err)
			if !ok {
				return err
			}
			return h.consolePage(c, status, "admin_invite_search", "invitations", v, consoleNotice{Text: msg, Tone: "bad"})
		}
		v.Count += len(ms)
		if v.Count > jobs.MaxMembers {
			v.TooMany = true
			break
		}
		if next == "" {
			break
		}
		f.After = next
	}
	return h.consolePage(c, fiber.StatusOK, "admin_invite_search", "invitations", v, consoleNotice{})
}

// adminInviteSearch invites every member the search finds.
func (h *Handler) adminInviteSearch(c *fiber.Ctx) error {
	s := jobs.Search{Query: consoleForm(c, "q"), Status: consoleForm(c, "status"), Tier: consoleForm(c, "tier")}
	j, err := h.jobs.InviteSearch(c.UserContext(), httpkit.Principal(c), s)
	return h.invitationStarted(c, j, err, invitationsView{Days: "14"})
}

// adminInvitationCancel stops a running job.
func (h *Handler) adminInvitationCancel(c *fiber.Ctx) error {
	id := utils.CopyString(c.Params("id"))
	if err := h.jobs.Cancel(c.UserContext(), httpkit.Principal(c), id); err != nil {
		msg, _, status, ok := h.formProblem(h.render.Lang(c), err)
		if !ok || status == fiber.StatusNotFound {
			return err
		}
		return h.render.Error(c, status, "job_not_running", msg)
	}
	return c.Redirect("/admin/invitations/"+id+"?msg=invitations_cancelled", fiber.StatusSeeOther)
}

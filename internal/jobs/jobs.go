// Package jobs runs HR's background work — today bulk enrolment
// invitations — as rows, not goroutines (STYLE.md): a job is a table row
// and each member it covers an item that a Worker claims under a lease, so
// a restart resumes the job and two instances never work on one item.
//
// Delivery is at most once per member and job. An item is 'claimed' while
// its card is prepared (nothing sent: a worker that stops then leaves it to
// be claimed again), and 'sending' from just before the e-mail is handed to
// the mailer until the outcome is recorded. An item whose 'sending' lease
// ran out without an outcome is sent again only when the mailer confirms
// that nothing left (the outbox can tell: its file is named by the item);
// through SMTP it becomes 'unknown' and is never resent automatically,
// because a second e-mail is worse than a missing one HR can see and resend.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/text/unicode/norm"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// MaxMembers is the most members one job may cover.
const MaxMembers = 50000

// Storer is what this package needs of the database.
type Storer interface {
	InTx(ctx context.Context, fn func(tx *store.Tx) error) error
	Job(ctx context.Context, id string) (*model.Job, error)
	ListJobs(ctx context.Context, limit int) ([]model.Job, error)
	JobCounts(ctx context.Context, jobID string) (map[string]int, error)
	JobItems(ctx context.Context, jobID, state string, afterSeq, limit int) ([]model.JobItem, error)
	ListMembers(ctx context.Context, f store.MemberFilter) ([]model.Member, error)
	CancelJob(ctx context.Context, id string, now time.Time) error
	MembersNotEnrolled(ctx context.Context, issuedBefore time.Time, limit int) ([]string, error)
}

// Service creates jobs and reports their progress.
type Service struct {
	st   Storer
	now  func() time.Time
	wake chan struct{}
}

// New makes the service.
func New(st Storer, now func() time.Time) *Service {
	return &Service{st: st, now: now, wake: make(chan struct{}, 1)}
}

// Wake is signalled when a job is created in this process, so a worker
// here starts at once instead of at its next poll.
func (s *Service) Wake() <-chan struct{} { return s.wake }

// Sources of a job's member list.
const (
	SourceMembers = "members"  // ids chosen by HR (an import's lines, a selection)
	SourceSearch  = "search"   // every member a search finds
	SourceRemind  = "reminder" // members whose link went unused for some days
)

// Invite creates an invitation job for these members: each who has no
// enrolled card gets one (issued, or re-issued when the unused link cannot
// be sent again) and the enrolment e-mail. Ids named twice count once.
func (s *Service) Invite(ctx context.Context, p *model.Principal, source string, memberIDs []string) (*model.Job, error) {
	seen := make(map[string]bool, len(memberIDs))
	ids := make([]string, 0, len(memberIDs))
	for _, id := range memberIDs {
		id = strings.TrimSpace(id)
		if _, err := uuid.Parse(id); err != nil {
			return nil, model.Invalidf("member_ids", "invalid_member_id", fmt.Sprintf("%q is not a member id", id))
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, model.Invalidf("member_ids", "no_members", "name at least one member to invite")
	}
	if len(ids) > MaxMembers {
		return nil, model.Invalidf("member_ids", "too_many_members", fmt.Sprintf("one job covers at most %d members", MaxMembers))
	}
	now := s.now()
	j := &model.Job{ID: uuid.Must(uuid.NewV7()).String(), Kind: model.JobInvite, Status: model.JobRunning, Source: source,
		ActorType: p.Kind, ActorID: p.ID, ActorName: p.Name, Total: len(ids), CreatedAt: now}
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateJob(ctx, j, ids); err != nil {
			if errors.Is(err, model.ErrInvalid) {
				return model.Invalidf("member_ids", "member_not_found", "one of the members does not exist")
			}
			return err
		}
		return tx.InsertAudit(ctx, p.Audit(uuid.Must(uuid.NewV7()).String(), now, "job.invite", "job", j.ID, "",
			model.JSON(map[string]any{"source": source, "total": j.Total})))
	})
	if err != nil {
		return nil, fmt.Errorf("create invitation job: %w", err)
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return j, nil
}

// Search is a member search, as GET /api/v1/members takes it.
type Search struct {
	Query  string `json:"q"`
	Status string `json:"status"`
	Tier   string `json:"tier"`
}

// InviteSearch creates an invitation job for every member a search finds.
func (s *Service) InviteSearch(ctx context.Context, p *model.Principal, search Search) (*model.Job, error) {
	switch search.Status {
	case "", string(model.MemberActive), string(model.MemberSuspended), string(model.MemberRevoked):
	default:
		return nil, model.Invalidf("status", "invalid_status", "status must be active, suspended or revoked")
	}
	if utf8.RuneCountInString(search.Query) > 100 {
		return nil, model.Invalidf("q", "query_too_long", "the search text must be at most 100 characters")
	}
	var ids []string
	f := store.MemberFilter{Query: strings.TrimSpace(norm.NFKC.String(search.Query)), Status: search.Status,
		Tier: strings.ToLower(strings.TrimSpace(search.Tier)), Limit: 1000}
	for {
		ms, err := s.st.ListMembers(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("invite search: %w", err)
		}
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
		if len(ids) > MaxMembers {
			return nil, model.Invalidf("q", "too_many_members", fmt.Sprintf("the search finds more than %d members; narrow it", MaxMembers))
		}
		if len(ms) < f.Limit {
			break
		}
		f.After = ms[len(ms)-1].EmployeeNo
	}
	if len(ids) == 0 {
		return nil, model.Invalidf("q", "no_members", "the search finds no member")
	}
	return s.Invite(ctx, p, SourceSearch, ids)
}

// Remind creates an invitation job for the active members whose card was
// issued at least days ago and never enrolled: each gets a new link (the
// card is issued again) and the e-mail. A reminded member's card is new,
// so the next reminder finds them only after days more.
func (s *Service) Remind(ctx context.Context, p *model.Principal, days int) (*model.Job, error) {
	if days < 1 || days > 365 {
		return nil, model.Invalidf("not_enrolled_days", "invalid_days", "not_enrolled_days must be between 1 and 365")
	}
	ids, err := s.st.MembersNotEnrolled(ctx, s.now().AddDate(0, 0, -days), MaxMembers+1)
	if err != nil {
		return nil, fmt.Errorf("remind: %w", err)
	}
	if len(ids) == 0 {
		return nil, model.NewProblem(model.ErrNotFound, "no_members", "No member has an unused enrolment link that old.")
	}
	return s.Invite(ctx, p, SourceRemind, ids)
}

// Progress is a job and how many of its items are in each state.
type Progress struct {
	*model.Job
	Counts  map[string]int `json:"counts"`
	Settled int            `json:"settled"` // items in a final state
}

// Progress reports a job.
func (s *Service) Progress(ctx context.Context, id string) (*Progress, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, jobNotFound()
	}
	j, err := s.st.Job(ctx, id)
	if errors.Is(err, model.ErrNotFound) {
		return nil, jobNotFound()
	}
	if err != nil {
		return nil, err
	}
	counts, err := s.st.JobCounts(ctx, id)
	if err != nil {
		return nil, err
	}
	settled := j.Total - counts[model.ItemPending] - counts[model.ItemClaimed] - counts[model.ItemSending]
	return &Progress{Job: j, Counts: counts, Settled: settled}, nil
}

// List returns the latest jobs.
func (s *Service) List(ctx context.Context, limit int) ([]model.Job, error) {
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	js, err := s.st.ListJobs(ctx, limit)
	if js == nil {
		js = []model.Job{}
	}
	return js, err
}

// Items lists a job's per-member results in order, after position after.
func (s *Service) Items(ctx context.Context, id, state string, after, limit int) ([]model.JobItem, error) {
	if _, err := s.Progress(ctx, id); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	is, err := s.st.JobItems(ctx, id, state, after, limit)
	if is == nil {
		is = []model.JobItem{}
	}
	return is, err
}

// Cancel stops a running job: members not yet reached are not written to.
func (s *Service) Cancel(ctx context.Context, p *model.Principal, id string) error {
	if _, err := s.Progress(ctx, id); err != nil {
		return err
	}
	now := s.now()
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CancelJob(ctx, id, now); err != nil {
			if errors.Is(err, model.ErrConflict) {
				return model.NewProblem(model.ErrConflict, "job_not_running", "The job has already finished.")
			}
			return err
		}
		return tx.InsertAudit(ctx, p.Audit(uuid.Must(uuid.NewV7()).String(), now, "job.cancel", "job", id, "", ""))
	})
	if err != nil {
		return fmt.Errorf("cancel job: %w", err)
	}
	return nil
}

func jobNotFound() error {
	return model.NewProblem(model.ErrNotFound, "job_not_found", "No job has this id.")
}

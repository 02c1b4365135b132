package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/mailer"
	"github.com/alumnipass/alumnipass/internal/members"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// WorkerStorer is what a worker needs of the database.
type WorkerStorer interface {
	InTx(ctx context.Context, fn func(tx *store.Tx) error) error
	Job(ctx context.Context, id string) (*model.Job, error)
	Member(ctx context.Context, id string) (*model.Member, error)
	MemberCards(ctx context.Context, memberID string) ([]model.Card, error)
	ClaimJobItems(ctx context.Context, owner string, now, until time.Time, limit int) ([]model.JobItem, error)
	SetJobItemState(ctx context.Context, ch store.JobItemChange) error
	ReleaseExpiredClaims(ctx context.Context, now time.Time, maxAttempts int) (int, error)
	ExpiredSends(ctx context.Context, now time.Time, limit int) ([]model.JobItem, error)
	ResolveExpiredSend(ctx context.Context, it model.JobItem, to, detail string, now time.Time) error
	FinishJobs(ctx context.Context, now time.Time) ([]string, error)
}

// Issuer issues a member's card (members.Service).
type Issuer interface {
	IssueCard(ctx context.Context, p *model.Principal, memberID string) (*members.IssuedCard, error)
}

// Sender delivers e-mail (mailer.Mailer).
type Sender interface {
	Send(ctx context.Context, msg mailer.Message) (string, error)
	Via() string
	Confirm(key string) (sent, known bool)
}

// WorkerOptions tune a worker; zero values take the defaults.
type WorkerOptions struct {
	Batch       int           // items claimed at once (20)
	Parallel    int           // items worked on at once (4)
	Lease       time.Duration // how long a claim holds without an outcome (2 min)
	Poll        time.Duration // how often an idle worker looks for work (1 s)
	MaxAttempts int           // attempts before an item fails (3)
}

// Worker claims job items and works them until its context ends.
type Worker struct {
	st     WorkerStorer
	svc    *Service
	issuer Issuer
	mail   Sender
	letter Letter
	log    *slog.Logger
	now    func() time.Time
	opt    WorkerOptions
	owner  string
}

// NewWorker makes a worker with an owner name of its own.
func NewWorker(st WorkerStorer, svc *Service, issuer Issuer, mail Sender, letter Letter, log *slog.Logger, now func() time.Time, opt WorkerOptions) *Worker {
	if opt.Batch <= 0 {
		opt.Batch = 20
	}
	if opt.Parallel <= 0 {
		opt.Parallel = 4
	}
	if opt.Lease <= 0 {
		opt.Lease = 2 * time.Minute
	}
	if opt.Poll <= 0 {
		opt.Poll = time.Second
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 3
	}
	return &Worker{st: st, svc: svc, issuer: issuer, mail: mail, letter: letter, log: log, now: now, opt: opt,
		owner: "w-" + uuid.NewString()[:13]}
}

// Run works until ctx ends. Items in hand when it ends are finished
// (a send under way is recorded); items claimed but not begun are given
// back at once, and those of a worker that crashed come back when their
// lease runs out.
func (w *Worker) Run(ctx context.Context) {
	var wake <-chan struct{}
	if w.svc != nil {
		wake = w.svc.Wake()
	}
	nextRecover := time.Time{}
	for ctx.Err() == nil {
		if now := w.now(); !now.Before(nextRecover) {
			w.recoverExpired(ctx)
			nextRecover = now.Add(w.opt.Lease / 4)
		}
		n, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.log.Warn("invitation worker", "err", err)
		}
		if n > 0 {
			continue
		}
		select {
		case <-ctx.Done():
		case <-wake:
		case <-time.After(w.opt.Poll):
		}
	}
}

// RunOnce claims one batch, works it and closes finished jobs; it returns
// how many items it claimed.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	now := w.now()
	items, err := w.st.ClaimJobItems(ctx, w.owner, now, now.Add(w.opt.Lease), w.opt.Batch)
	if err != nil {
		return 0, err
	}
	jobs := map[string]*model.Job{}
	next := make(chan model.JobItem)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range min(w.opt.Parallel, len(items)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range next {
				mu.Lock()
				j := jobs[it.JobID]
				mu.Unlock()
				w.work(ctx, j, it)
			}
		}()
	}
	var left []model.JobItem
	for i, it := range items {
		if ctx.Err() != nil {
			left = items[i:]
			break
		}
		if jobs[it.JobID] == nil {
			j, err := w.st.Job(ctx, it.JobID)
			if err != nil {
				left = items[i:]
				break
			}
			mu.Lock()
			jobs[it.JobID] = j
			mu.Unlock()
		}
		next <- it
	}
	close(next)
	wg.Wait()
	w.giveBack(left)
	if _, err := w.st.FinishJobs(ctx, w.now()); err != nil && ctx.Err() == nil {
		return len(items), err
	}
	return len(items), nil
}

// giveBack returns claimed items not begun to the queue, even while the
// worker stops.
func (w *Worker) giveBack(items []model.JobItem) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, it := range items {
		err := w.st.SetJobItemState(ctx, store.JobItemChange{ID: it.ID, Owner: w.owner, From: model.ItemClaimed, To: model.ItemPending, Now: w.now()})
		if err != nil {
			w.log.Warn("give back job item", "item", it.ID, "err", err)
		}
	}
}

// work takes one claimed item to its outcome. It first renews the
// item's lease: an item that waited in a slow batch until its lease ran
// out may be another worker's by now, and is left alone.
func (w *Worker) work(ctx context.Context, j *model.Job, it model.JobItem) {
	now := w.now()
	until := now.Add(w.opt.Lease)
	if err := w.st.SetJobItemState(ctx, store.JobItemChange{ID: it.ID, Owner: w.owner, From: model.ItemClaimed,
		To: model.ItemClaimed, LeaseUntil: &until, Now: now}); err != nil {
		if !errors.Is(err, model.ErrConflict) {
			w.retryOrFail(it, model.ItemClaimed, err)
		}
		return
	}
	to, detail, issued, err := w.prepare(ctx, j, it)
	if err != nil {
		w.retryOrFail(it, model.ItemClaimed, err)
		return
	}
	now = w.now()
	until = now.Add(w.opt.Lease) // the send has a lease of its own
	change := store.JobItemChange{ID: it.ID, Owner: w.owner, From: model.ItemClaimed, To: to, Detail: detail, LeaseUntil: &until, Now: now}
	if issued != nil {
		change.CardID = issued.CardID
	}
	// Recorded even while the worker stops: the card is issued.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := w.st.SetJobItemState(rctx, change); err != nil {
		w.log.Warn("job item lost", "item", it.ID, "err", err)
		return
	}
	if to == model.ItemSending {
		w.send(j, it, issued)
	}
}

// prepare decides what an item needs and issues the card. It returns
// the next state: sending (with the issued card) or a final one.
func (w *Worker) prepare(ctx context.Context, j *model.Job, it model.JobItem) (string, string, *members.IssuedCard, error) {
	m, err := w.st.Member(ctx, it.MemberID)
	if err != nil {
		return "", "", nil, err
	}
	if m.Status != model.MemberActive {
		return model.ItemSkipped, "not_active", nil, nil
	}
	if m.Email == "" || strings.HasSuffix(strings.ToLower(m.Email), ".invalid") {
		return model.ItemNoEmail, "no_email", nil, nil
	}
	cards, err := w.st.MemberCards(ctx, m.ID)
	if err != nil {
		return "", "", nil, err
	}
	for _, c := range cards {
		if c.Status == model.CardActive && c.EnrolledAt != nil {
			return model.ItemSkipped, "already_enrolled", nil, nil
		}
	}
	// A card whose link was never used is issued again: its link cannot be
	// read back to be sent, and the new one replaces it.
	issued, err := w.issuer.IssueCard(ctx, principal(j), m.ID)
	var p *model.Problem
	if errors.As(err, &p) && p.Kind == model.ErrConflict {
		return model.ItemSkipped, p.Code, nil, nil
	}
	if err != nil {
		return "", "", nil, err
	}
	return model.ItemSending, "", issued, nil
}

// send hands the e-mail over and records the outcome. It runs to the end
// even when the worker is stopping, so a message sent is a message recorded.
func (w *Worker) send(j *model.Job, it model.JobItem, issued *members.IssuedCard) {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	m, err := w.st.Member(ctx, it.MemberID)
	if err != nil {
		w.retryOrFail(it, model.ItemSending, err)
		return
	}
	msg := w.letter.Compose(m, issued.EnrollmentURL, issued.ExpiresAt, it.ID)
	_, err = w.mail.Send(ctx, msg)
	switch {
	case errors.Is(err, mailer.ErrRejected):
		w.settle(ctx, it, model.ItemBounced, trimDetail(err.Error()), nil)
	case err != nil:
		// Refused before the server took the message: not sent, so it may
		// be tried again.
		w.retryOrFail(it, model.ItemSending, err)
	default:
		audit := principal(j).Audit(uuid.Must(uuid.NewV7()).String(), w.now(), "card.enrollment_sent", "member", m.ID, "",
			model.JSON(map[string]string{"card_id": issued.CardID, "to": m.Email, "via": w.mail.Via(), "job_id": j.ID}))
		w.settle(ctx, it, model.ItemSent, "", &audit)
	}
}

// settle records a final outcome of a 'sending' item with its audit entry.
func (w *Worker) settle(ctx context.Context, it model.JobItem, to, detail string, audit *model.AuditEntry) {
	err := w.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetJobItemState(ctx, store.JobItemChange{ID: it.ID, Owner: w.owner, From: model.ItemSending, To: to, Detail: detail, Now: w.now()}); err != nil {
			return err
		}
		if audit != nil {
			return tx.InsertAudit(ctx, *audit)
		}
		return nil
	})
	if err != nil {
		w.log.Error("record job item outcome", "item", it.ID, "state", to, "err", err)
	}
}

// retryOrFail puts an item back for another attempt, or fails it when it
// has had its attempts.
func (w *Worker) retryOrFail(it model.JobItem, from string, cause error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	to, detail := model.ItemPending, ""
	if it.Attempts >= w.opt.MaxAttempts {
		to, detail = model.ItemFailed, trimDetail(cause.Error())
	}
	w.log.Warn("job item attempt failed", "item", it.ID, "attempt", it.Attempts, "err", cause)
	if err := w.st.SetJobItemState(ctx, store.JobItemChange{ID: it.ID, Owner: w.owner, From: from, To: to, Detail: detail, Now: w.now()}); err != nil {
		w.log.Warn("job item lost", "item", it.ID, "err", err)
	}
}

// recoverExpired takes back the items of workers that stopped: claims
// (nothing sent) are released, and sends are settled by the mailer's
// confirmation or marked unknown.
func (w *Worker) recoverExpired(ctx context.Context) {
	now := w.now()
	if n, err := w.st.ReleaseExpiredClaims(ctx, now, w.opt.MaxAttempts); err != nil {
		w.log.Warn("release expired job claims", "err", err)
	} else if n > 0 {
		w.log.Info("released expired job claims", "items", n)
	}
	items, err := w.st.ExpiredSends(ctx, now, 1000)
	if err != nil {
		w.log.Warn("expired job sends", "err", err)
		return
	}
	for _, it := range items {
		to, detail := model.ItemUnknown, "interrupted_while_sending"
		switch sent, known := w.mail.Confirm(it.ID); {
		case known && sent:
			to, detail = model.ItemSent, "confirmed_after_restart"
		case known:
			to, detail = model.ItemPending, ""
		}
		if err := w.resolve(ctx, it, to, detail, now); err != nil && !errors.Is(err, model.ErrConflict) {
			w.log.Warn("resolve expired job send", "item", it.ID, "err", err)
		}
	}
}

// resolve settles an expired send; one confirmed sent is audited as the
// send would have been.
func (w *Worker) resolve(ctx context.Context, it model.JobItem, to, detail string, now time.Time) error {
	j, err := w.st.Job(ctx, it.JobID)
	if err != nil {
		return err
	}
	return w.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.ResolveExpiredSend(ctx, it, to, detail, now); err != nil {
			return err
		}
		if to != model.ItemSent {
			return nil
		}
		return tx.InsertAudit(ctx, principal(j).Audit(uuid.Must(uuid.NewV7()).String(), now, "card.enrollment_sent", "member", it.MemberID, "",
			model.JSON(map[string]string{"card_id": it.CardID, "via": w.mail.Via(), "job_id": j.ID, "confirmed": "after_restart"})))
	})
}

// principal is the job's author, in whose name its writes are audited.
func principal(j *model.Job) *model.Principal {
	return &model.Principal{Kind: j.ActorType, ID: j.ActorID, Name: j.ActorName, Role: model.RoleHR, RequestID: "job:" + j.ID}
}

func trimDetail(s string) string {
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

// String names the worker in logs.
func (w *Worker) String() string { return fmt.Sprintf("invitation worker %s", w.owner) }

package jobs_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/i18n"
	"github.com/alumnipass/alumnipass/internal/jobs"
	"github.com/alumnipass/alumnipass/internal/keyring"
	"github.com/alumnipass/alumnipass/internal/mailer"
	"github.com/alumnipass/alumnipass/internal/members"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/seal"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
	"github.com/alumnipass/alumnipass/static"
)

var hr = &model.Principal{Kind: "token", ID: "hr-test", Name: "HR test", Role: model.RoleHR}

// countingSender is the real outbox mailer, counting the messages handed
// to it per key: an outbox file named by its key would hide a second send
// by overwriting the first, the count does not.
type countingSender struct {
	*mailer.Mailer
	mu     sync.Mutex
	sends  map[string]int
	reject string // an address the "server" refuses
	after  func(n int)
}

func (c *countingSender) Send(ctx context.Context, msg mailer.Message) (string, error) {
	if msg.To == c.reject {
		return "", fmt.Errorf("smtp to: 550 no such user: %w", mailer.ErrRejected)
	}
	where, err := c.Mailer.Send(ctx, msg)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.sends[msg.Key]++
	n := len(c.sends)
	c.mu.Unlock()
	if c.after != nil {
		c.after(n)
	}
	return where, nil
}

func (c *countingSender) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.sends))
	for k, v := range c.sends {
		out[k] = v
	}
	return out
}

type env struct {
	st     *store.Store
	svc    *jobs.Service
	mem    *members.Service
	outbox string
	letter jobs.Letter
}

func newEnv(t *testing.T, st *store.Store) *env {
	t.Helper()
	sealer, err := seal.New([]byte(strings.Repeat("m", 32)))
	storetest.Must(t, err)
	keys, err := keyring.New(context.Background(), st, sealer, time.Now)
	storetest.Must(t, err)
	cat, err := i18n.Load(static.FS, "i18n")
	storetest.Must(t, err)
	mem := members.New(st, keys, sealer, time.Now, members.Options{BaseURL: "https://alumni.example.jp",
		CardValidity: 365 * 24 * time.Hour, EnrollValidity: 24 * time.Hour})
	return &env{st: st, svc: jobs.New(st, time.Now), mem: mem, outbox: filepath.Join(t.TempDir(), "outbox"),
		letter: jobs.Letter{Catalog: cat, CompanyName: "テスト株式会社", CompanyNameEn: "Test Inc."}}
}

func (e *env) sender(t *testing.T) *countingSender {
	m, err := mailer.New("", e.outbox, "alumnipass@alumni.example.jp", time.Now)
	storetest.Must(t, err)
	return &countingSender{Mailer: m, sends: map[string]int{}}
}

func (e *env) worker(st jobs.WorkerStorer, s jobs.Sender, now func() time.Time, opt jobs.WorkerOptions) *jobs.Worker {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return jobs.NewWorker(st, e.svc, e.mem, s, e.letter, log, now, opt)
}

// addMembers creates n active members and returns their ids in order.
func addMembers(t *testing.T, st *store.Store, n int) []string {
	t.Helper()
	now := time.Now()
	ms := make([]model.Member, n)
	ids := make([]string, n)
	for i := range ms {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1)
		ms[i] = model.Member{ID: id, EmployeeNo: fmt.Sprintf("E%06d", i+1), FamilyName: "山田", GivenName: fmt.Sprintf("太郎%d", i),
			Email: fmt.Sprintf("taro%d@example.jp", i+1), Tier: "standard", DepartedOn: "2024-03-31", Locale: "ja",
			Status: model.MemberActive, CreatedAt: now, UpdatedAt: now}
		ids[i] = id
	}
	storetest.Must(t, st.UpsertMembers(context.Background(), ms))
	return ids
}

func outboxFiles(t *testing.T, dir string) []string {
	t.Helper()
	fs, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	storetest.Must(t, err)
	return fs
}

// waitDone runs a worker until the job is done or the deadline passes.
func waitDone(t *testing.T, e *env, w *jobs.Worker, jobID string, within time.Duration) *jobs.Progress {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		p, err := e.svc.Progress(context.Background(), jobID)
		storetest.Must(t, err)
		if p.Status == model.JobDone {
			return p
		}
		time.Sleep(50 * time.Millisecond)
	}
	p, _ := e.svc.Progress(context.Background(), jobID)
	t.Fatalf("job not done within %v: %+v", within, p.Counts)
	return nil
}

// TestInviteInterruptedAndResumed: a 5,000-member invitation job whose
// worker is stopped a third of the way is finished by a new worker; every
// member gets exactly one e-mail (counted at the mailer, not by outbox
// file names), one outbox file per member, and each e-mail's link is the
// member's current card.
func TestInviteInterruptedAndResumed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		n := 5000
		if testing.Short() || (raceEnabled && st.Dialect() == store.SQLite) {
			n = 500 // modernc's SQLite runs some 30 times slower under -race (5,000 took 6 min)
		}
		ids := addMembers(t, st, n)
		j, err := e.svc.Invite(ctx, hr, jobs.SourceMembers, ids)
		storetest.Must(t, err)

		s1 := e.sender(t)
		stop, cancel := context.WithCancel(ctx)
		s1.after = func(sent int) {
			if sent == n/3 {
				cancel()
			}
		}
		done := make(chan struct{})
		go func() { e.worker(st, s1, time.Now, jobs.WorkerOptions{Parallel: 4}).Run(stop); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Minute):
			t.Fatal("first worker did not stop")
		}
		first := len(s1.counts())
		p, err := e.svc.Progress(ctx, j.ID)
		storetest.Must(t, err)
		if p.Status != model.JobRunning || first < n/3 || first >= n {
			t.Fatalf("after the stop: status %s, %d sent, counts %v", p.Status, first, p.Counts)
		}
		if p.Counts[model.ItemClaimed]+p.Counts[model.ItemSending] != 0 {
			t.Fatalf("a stopped worker left items in hand: %v", p.Counts)
		}

		s2 := e.sender(t)
		p = waitDone(t, e, e.worker(st, s2, time.Now, jobs.WorkerOptions{Parallel: 4}), j.ID, 5*time.Minute)
		c1, c2 := s1.counts(), s2.counts()
		for k, v := range c2 {
			if c1[k]+v != 1 {
				t.Fatalf("item %s sent %d times", k, c1[k]+v)
			}
		}
		for k, v := range c1 {
			if v != 1 {
				t.Fatalf("item %s sent %d times by the first worker", k, v)
			}
		}
		if len(c1)+len(c2) != n || p.Counts[model.ItemSent] != n || p.Settled != n {
			t.Fatalf("sent %d+%d, progress %v settled %d; want %d", len(c1), len(c2), p.Counts, p.Settled, n)
		}
		if files := outboxFiles(t, e.outbox); len(files) != n {
			t.Fatalf("%d outbox files, want %d", len(files), n)
		}
		checkLinks(t, e, j.ID, 25)
	})
}

var linkRe = regexp.MustCompile(`/w/enroll/(\S+)`)

// checkLinks reads the first k e-mails of a job and checks that each
// went to its member and carries the member's current enrolment link.
func checkLinks(t *testing.T, e *env, jobID string, k int) {
	t.Helper()
	ctx := context.Background()
	items, err := e.svc.Items(ctx, jobID, model.ItemSent, 0, k)
	storetest.Must(t, err)
	for _, it := range items {
		raw, err := os.ReadFile(filepath.Join(e.outbox, store.JobItemID(jobID, it.Seq)+".eml"))
		storetest.Must(t, err)
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		storetest.Must(t, err)
		body, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, msg.Body))
		storetest.Must(t, err)
		m, err := e.st.Member(ctx, it.MemberID)
		storetest.Must(t, err)
		if !strings.Contains(msg.Header.Get("To"), m.Email) {
			t.Fatalf("e-mail of %s went to %s", m.Email, msg.Header.Get("To"))
		}
		match := linkRe.FindSubmatch(body)
		if match == nil {
			t.Fatalf("no link in %q", body)
		}
		card, err := e.st.CardByEnrollToken(ctx, auth.HashToken(string(match[1])))
		storetest.Must(t, err)
		if card.MemberID != m.ID || card.Status != model.CardActive || card.ID != it.CardID {
			t.Fatalf("link of %s opens card %+v, item says %s", m.ID, card, it.CardID)
		}
	}
}

// TestInviteResults: each member's outcome is recorded — sent, bounced at
// submission, no e-mail address, not active, already enrolled — and the
// job ends done with its counts; a sent e-mail is audited.
func TestInviteResults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		ids := addMembers(t, st, 5)
		// 1: suspended; 2: no real address; 3: enrolled already; 4: refused by the server.
		_, err := e.mem.ChangeStatus(ctx, hr, ids[1], members.ActionSuspend, "")
		storetest.Must(t, err)
		m2, err := st.Member(ctx, ids[2])
		storetest.Must(t, err)
		m2.Email = "none@example.invalid" // a placeholder address (RFC 2606): nobody to write to
		storetest.Must(t, st.UpsertMembers(ctx, []model.Member{*m2}))
		issued, err := e.mem.IssueCard(ctx, hr, ids[3])
		storetest.Must(t, err)
		storetest.Must(t, st.Enroll(ctx, issued.CardID, "wallet-hash", "v1", time.Now()))
		s := e.sender(t)
		s.reject = "taro5@example.jp"
		j, err := e.svc.Invite(ctx, hr, jobs.SourceMembers, append(ids, ids[0]))
		storetest.Must(t, err)
		if j.Total != 5 {
			t.Fatalf("a member named twice counts once: total %d", j.Total)
		}
		p := waitDone(t, e, e.worker(st, s, time.Now, jobs.WorkerOptions{}), j.ID, time.Minute)
		items, err := e.svc.Items(ctx, j.ID, "", 0, 10)
		storetest.Must(t, err)
		got := []string{}
		for _, it := range items {
			got = append(got, it.State+"/"+it.Detail)
		}
		want := "sent/ skipped/not_active no_email/no_email skipped/already_enrolled bounced/"
		if strings.Join(got, " ")[:len(want)] != want {
			t.Fatalf("results %v, want %s…", got, want)
		}
		if p.Counts[model.ItemSent] != 1 || p.Settled != 5 || p.FinishedAt == nil {
			t.Fatalf("progress %+v", p)
		}
		es, err := st.ListAudit(ctx, store.AuditFilter{TargetID: ids[0], Action: "card.enrollment_sent", Limit: 5})
		storetest.Must(t, err)
		if len(es) != 1 || !strings.Contains(es[0].After, j.ID) {
			t.Fatalf("audit of the send: %+v", es)
		}
		if len(outboxFiles(t, e.outbox)) != 1 {
			t.Fatal("one e-mail expected in the outbox")
		}
	})
}

// TestCrashBetweenSendAndRecord: a worker that died holding items leaves
// one claimed (nothing sent), one 'sending' whose e-mail reached the outbox
// and one 'sending' whose e-mail did not. After the lease, a new worker
// releases the claim, confirms the first send from the outbox without
// sending again, and sends the other: one e-mail each. Through a mailer
// that cannot confirm (SMTP), an interrupted send becomes 'unknown' and is
// not sent again.
func TestCrashBetweenSendAndRecord(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		ids := addMembers(t, st, 4)
		j, err := e.svc.Invite(ctx, hr, jobs.SourceMembers, ids)
		storetest.Must(t, err)
		now := time.Now()
		held, err := st.ClaimJobItems(ctx, "dead", now, now.Add(time.Minute), 4)
		storetest.Must(t, err)
		for _, it := range held[1:] {
			storetest.Must(t, st.SetJobItemState(ctx, store.JobItemChange{ID: it.ID, Owner: "dead", From: model.ItemClaimed, To: model.ItemSending, Now: now}))
		}
		dead := e.sender(t)
		_, err = dead.Send(ctx, mailer.Message{To: "taro2@example.jp", Subject: "x", Body: "x", Key: held[1].ID})
		storetest.Must(t, err)

		later := func() time.Time { return time.Now().Add(2 * time.Minute) }
		s := e.sender(t)
		// Item 4 goes through a mailer that cannot confirm.
		w := e.worker(st, &confirmOnly{countingSender: s, unsureKey: held[3].ID}, later, jobs.WorkerOptions{})
		p := waitDone(t, e, w, j.ID, time.Minute)
		c := s.counts()
		if c[held[0].ID] != 1 || c[held[1].ID] != 0 || c[held[2].ID] != 1 || c[held[3].ID] != 0 {
			t.Fatalf("sends after the crash: %v", c)
		}
		if p.Counts[model.ItemSent] != 3 || p.Counts[model.ItemUnknown] != 1 {
			t.Fatalf("progress %v", p.Counts)
		}
	})
}

// confirmOnly confirms from the outbox except for one key, as SMTP would.
type confirmOnly struct {
	*countingSender
	unsureKey string
}

func (c *confirmOnly) Confirm(key string) (bool, bool) {
	if key == c.unsureKey {
		return false, false
	}
	return c.countingSender.Confirm(key)
}

// TestTwoWorkersOnePostgres: two instances (two stores on one PostgreSQL
// database) work one job at once; FOR UPDATE SKIP LOCKED gives every item
// to one of them, so no e-mail is sent twice.
func TestTwoWorkersOnePostgres(t *testing.T) {
	url := storetest.NewPostgresDB(t)
	open := func() *store.Store {
		st, err := store.Open(context.Background(), store.Options{DatabaseURL: url, MaxConns: 8})
		storetest.Must(t, err)
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	a, b := open(), open()
	_, err := a.Migrate(context.Background())
	storetest.Must(t, err)
	ctx := context.Background()
	ea, eb := newEnv(t, a), newEnv(t, b)
	eb.outbox = ea.outbox
	ids := addMembers(t, a, 1000)
	j, err := ea.svc.Invite(ctx, hr, jobs.SourceMembers, ids)
	storetest.Must(t, err)
	sa, sb := ea.sender(t), eb.sender(t)
	run, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, w := range []*jobs.Worker{ea.worker(a, sa, time.Now, jobs.WorkerOptions{Batch: 5}), eb.worker(b, sb, time.Now, jobs.WorkerOptions{Batch: 5})} {
		wg.Add(1)
		go func() { defer wg.Done(); w.Run(run) }()
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		p, err := ea.svc.Progress(ctx, j.ID)
		storetest.Must(t, err)
		if p.Status == model.JobDone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not done: %v", p.Counts)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	ca, cb := sa.counts(), sb.counts()
	for k, v := range ca {
		if v != 1 || cb[k] != 0 {
			t.Fatalf("item %s sent %d + %d times", k, v, cb[k])
		}
	}
	if len(ca)+len(cb) != 1000 || len(outboxFiles(t, ea.outbox)) != 1000 {
		t.Fatalf("sent %d + %d", len(ca), len(cb))
	}
	t.Logf("worker A sent %d, worker B %d", len(ca), len(cb))
	if len(ca) == 0 || len(cb) == 0 {
		t.Errorf("one worker did all the work (%d/%d): the claims did not interleave", len(ca), len(cb))
	}
}

// TestInviteRefusals: bad ids, an empty list and unknown members write no job.
func TestInviteRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		for _, ids := range [][]string{nil, {"nope"}, {"00000000-0000-4000-8000-999999999999"}} {
			_, err := e.svc.Invite(ctx, hr, jobs.SourceMembers, ids)
			var p *model.Problem
			if !errors.As(err, &p) || p.Kind != model.ErrInvalid {
				t.Fatalf("%v: %v", ids, err)
			}
		}
		js, err := e.svc.List(ctx, 10)
		storetest.Must(t, err)
		if len(js) != 0 {
			t.Fatalf("jobs written: %v", js)
		}
	})
}

// TestRemind: a reminder covers the active members whose link has gone
// unused for the days asked, and no one else; once reminded (a new link),
// they are not reminded again at once.
func TestRemind(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		ids := addMembers(t, st, 5)
		sealer, err := seal.New([]byte(strings.Repeat("m", 32)))
		storetest.Must(t, err)
		keys, err := keyring.New(ctx, st, sealer, time.Now)
		storetest.Must(t, err)
		past := members.New(st, keys, sealer, func() time.Time { return time.Now().AddDate(0, 0, -10) },
			members.Options{BaseURL: "https://alumni.example.jp", CardValidity: 365 * 24 * time.Hour, EnrollValidity: 30 * 24 * time.Hour})
		// 0: old unused link; 1: recent link; 2: old link, enrolled; 3: no card; 4: old link, suspended.
		for _, i := range []int{0, 2, 4} {
			_, err := past.IssueCard(ctx, hr, ids[i])
			storetest.Must(t, err)
		}
		_, err = e.mem.IssueCard(ctx, hr, ids[1])
		storetest.Must(t, err)
		cards, err := st.MemberCards(ctx, ids[2])
		storetest.Must(t, err)
		storetest.Must(t, st.Enroll(ctx, cards[0].ID, "wallet-hash", "v1", time.Now()))
		_, err = e.mem.ChangeStatus(ctx, hr, ids[4], members.ActionSuspend, "")
		storetest.Must(t, err)

		if _, err := e.svc.Remind(ctx, hr, 0); !errors.Is(err, model.ErrInvalid) {
			t.Fatalf("0 days: %v", err)
		}
		j, err := e.svc.Remind(ctx, hr, 7)
		storetest.Must(t, err)
		items, err := e.svc.Items(ctx, j.ID, "", 0, 10)
		storetest.Must(t, err)
		if j.Source != jobs.SourceRemind || len(items) != 1 || items[0].MemberID != ids[0] {
			t.Fatalf("reminder covers %+v", items)
		}
		waitDone(t, e, e.worker(st, e.sender(t), time.Now, jobs.WorkerOptions{}), j.ID, time.Minute)
		if _, err := e.svc.Remind(ctx, hr, 7); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("a second reminder at once: %v", err)
		}
	})
}

// TestInviteSearch: a job from a search covers exactly the members it finds.
func TestInviteSearch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		ids := addMembers(t, st, 3)
		m, err := st.Member(ctx, ids[1])
		storetest.Must(t, err)
		m.Tier = "gold"
		storetest.Must(t, st.UpsertMembers(ctx, []model.Member{*m}))
		j, err := e.svc.InviteSearch(ctx, hr, jobs.Search{Tier: "Gold"})
		storetest.Must(t, err)
		items, err := e.svc.Items(ctx, j.ID, "", 0, 10)
		storetest.Must(t, err)
		if j.Source != jobs.SourceSearch || len(items) != 1 || items[0].MemberID != ids[1] || items[0].Seq != 1 {
			t.Fatalf("search job: %+v %+v", j, items)
		}
		if _, err := e.svc.InviteSearch(ctx, hr, jobs.Search{Tier: "platinum"}); !errors.Is(err, model.ErrInvalid) {
			t.Fatalf("an empty search: %v", err)
		}
		if _, err := e.svc.InviteSearch(ctx, hr, jobs.Search{Status: "gone"}); !errors.Is(err, model.ErrInvalid) {
			t.Fatalf("a bad status: %v", err)
		}
	})
}

// TestExpiredClaimLeftAlone: a worker whose claim ran out before it began
// the item (a slow batch) does not touch it — no card issued, no e-mail —
// once another worker may have taken it.
func TestExpiredClaimLeftAlone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		ids := addMembers(t, st, 1)
		j, err := e.svc.Invite(ctx, hr, jobs.SourceMembers, ids)
		storetest.Must(t, err)
		// A slow worker: its clock is past the lease by the time it works.
		var calls int
		var mu sync.Mutex
		slow := func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if calls == 1 {
				return time.Now() // the claim
			}
			return time.Now().Add(time.Hour) // everything after it
		}
		s := e.sender(t)
		w := e.worker(st, s, slow, jobs.WorkerOptions{Lease: time.Minute})
		n, err := w.RunOnce(ctx)
		storetest.Must(t, err)
		if n != 1 || len(s.counts()) != 0 {
			t.Fatalf("claimed %d, sent %v", n, s.counts())
		}
		cards, err := st.MemberCards(ctx, ids[0])
		storetest.Must(t, err)
		if len(cards) != 0 {
			t.Fatalf("a card was issued on an expired claim: %v", cards)
		}
		p, err := e.svc.Progress(ctx, j.ID)
		storetest.Must(t, err)
		if p.Counts[model.ItemClaimed] != 1 {
			t.Fatalf("items: %v", p.Counts)
		}
	})
}

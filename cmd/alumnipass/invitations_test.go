package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/auth"
	"github.com/alumnipass/alumnipass/internal/jobs"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// TestInvitationsSurviveKill9: `serve` is killed with SIGKILL a third of
// the way through a 5,000-member invitation job and started again on the
// same database and outbox. The job finishes; every member has one e-mail
// (one outbox file, one enrollment_sent audit entry), no e-mail written
// before the kill is written again, and every e-mail's link opens the
// member's active card.
func TestInvitationsSurviveKill9(t *testing.T) {
	bin := buildBinary(t)
	for _, d := range []string{store.SQLite, store.Postgres} {
		t.Run(d, func(t *testing.T) {
			place := newPlace(t, d)
			if place.dir == "" {
				place.dir = t.TempDir() // its own outbox
			}
			invitationsKill9(t, bin, place)
		})
	}
}

func invitationsKill9(t *testing.T, bin string, place dbPlace) {
	const n = 5000
	ctx := context.Background()
	st := place.open(t)
	defer st.Close()
	now := time.Now()
	ms := make([]model.Member, n)
	ids := make([]string, n)
	for i := range ms {
		ids[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1)
		ms[i] = model.Member{ID: ids[i], EmployeeNo: fmt.Sprintf("J%06d", i), FamilyName: "佐藤", GivenName: "花子",
			Email: fmt.Sprintf("hanako%d@example.jp", i), Tier: "standard", DepartedOn: "2024-03-31", Locale: "ja",
			Status: model.MemberActive, CreatedAt: now, UpdatedAt: now}
	}
	storetest.Must(t, st.UpsertMembers(ctx, ms))
	job, err := jobs.New(st, time.Now).Invite(ctx, &model.Principal{Kind: "token", ID: "kill-test", Name: "kill test"}, jobs.SourceMembers, ids)
	storetest.Must(t, err)

	outbox := filepath.Join(place.dir, "outbox")
	count := func() int {
		fs, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
		return len(fs)
	}
	c := startChild(t, bin, place, "ALUMNIPASS_JOB_LEASE=2s")
	for i := 0; count() < n/3; i++ {
		if i > 6000 {
			t.Fatalf("only %d e-mails after 5 minutes:\n%s", count(), c.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.kill()
	before := map[string][32]byte{}
	fs, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	for _, f := range fs {
		b, err := os.ReadFile(f)
		storetest.Must(t, err)
		before[f] = sha256.Sum256(b)
	}
	counts, err := st.JobCounts(ctx, job.ID)
	storetest.Must(t, err)
	t.Logf("killed with %d e-mails in the outbox; items %v", len(before), counts)
	if len(before) >= n {
		t.Fatal("the job finished before the kill")
	}

	c2 := startChild(t, bin, place, "ALUMNIPASS_JOB_LEASE=2s")
	for i := 0; ; i++ {
		j, err := st.Job(ctx, job.ID)
		storetest.Must(t, err)
		if j.Status == model.JobDone {
			break
		}
		if i > 6000 {
			counts, _ := st.JobCounts(ctx, job.ID)
			t.Fatalf("job not done 5 minutes after the restart: %v\n%s", counts, c2.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	counts, err = st.JobCounts(ctx, job.ID)
	storetest.Must(t, err)
	if counts[model.ItemSent] != n {
		t.Fatalf("items after the restart: %v", counts)
	}
	if got := count(); got != n {
		t.Fatalf("%d outbox files, want %d", got, n)
	}
	for f, sum := range before {
		b, err := os.ReadFile(f)
		storetest.Must(t, err)
		if sha256.Sum256(b) != sum {
			t.Fatalf("%s was written again after the restart", f)
		}
	}
	var audits int
	storetest.Must(t, st.DB().QueryRow(`SELECT COUNT(DISTINCT target_id) FROM audit_log WHERE action = 'card.enrollment_sent'`).Scan(&audits))
	var entries int
	storetest.Must(t, st.DB().QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action = 'card.enrollment_sent'`).Scan(&entries))
	if audits != n || entries != n {
		t.Fatalf("enrollment_sent audited %d times for %d members, want %d", entries, audits, n)
	}
	checkOutboxLinks(t, st, outbox)
}

var enrollLink = regexp.MustCompile(`/w/enroll/(\S+)`)

// checkOutboxLinks opens every e-mail in the outbox: its link must open
// the active card of the member it was written to, one e-mail per member.
func checkOutboxLinks(t *testing.T, st *store.Store, outbox string) {
	t.Helper()
	ctx := context.Background()
	fs, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	seen := map[string]bool{}
	for _, f := range fs {
		raw, err := os.ReadFile(f)
		storetest.Must(t, err)
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		storetest.Must(t, err)
		body, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, msg.Body))
		storetest.Must(t, err)
		m := enrollLink.FindSubmatch(body)
		if m == nil {
			t.Fatalf("%s has no link", f)
		}
		card, err := st.CardByEnrollToken(ctx, auth.HashToken(string(m[1])))
		storetest.Must(t, err)
		member, err := st.Member(ctx, card.MemberID)
		storetest.Must(t, err)
		if card.Status != model.CardActive || !strings.Contains(msg.Header.Get("To"), member.Email) || seen[member.ID] {
			t.Fatalf("%s: card %s %s of %s (seen %v) sent to %s", f, card.ID, card.Status, member.Email, seen[member.ID], msg.Header.Get("To"))
		}
		seen[member.ID] = true
	}
}

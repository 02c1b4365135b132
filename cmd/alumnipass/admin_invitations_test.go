package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/model"
)

// jobIDRe finds a job page in a redirect.
const jobIDRe = `^/admin/invitations/([0-9a-f-]{36})\?msg=invitations_started$`

// TestConsoleInvitationsFromImport: HR applies an import in the console,
// presses "send enrolment invitations" and lands on the job's page, which
// shows the progress server-side (a <progress> with the counts) and names
// each member; the worker sends one e-mail per member; the job page and
// its JSON end at 100%, and the list shows the job.
func TestConsoleInvitationsFromImport(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, ts *testServer) {
		hr := ts.consoleAs(model.RoleHR, "")
		hr.want(hr.get("/admin/import"), 200)
		csv := "社員番号,姓,名,メールアドレス,区分,退職日\n" +
			"V0001,鈴木,一郎,ichiro@example.com,standard,2024-03-31\n" +
			"V0002,田中,次郎,jiro@example.com,gold,2024-04-30\n" +
			"V0003,高橋,三郎,saburo@example.com,standard,2024-05-31\n"
		p := hr.want(hr.upload("/admin/import", "file", "members.csv", []byte(csv), url.Values{"encoding": {"auto"}}), 200)
		if strings.Contains(p.Body, `id="invite-import"`) {
			t.Fatal("the preview offers invitations before anything is imported")
		}
		hash := regexpFind(t, p.Body, `name="hash" value="([0-9a-f]{64})"`)
		p = hr.want(hr.post("/admin/import/apply", url.Values{"hash": {hash}, "encoding": {"auto"}}), 200)
		if !strings.Contains(p.Body, `id="invite-import"`) || !strings.Contains(p.Body, "取り込んだ会員 3 人に登録案内を送信") {
			t.Fatalf("no invitation button after the import: %.3000s", p.Body)
		}
		ids := regexpFind(t, p.Body, `name="member_ids" value="([0-9a-f,-]+)"`)
		if n := len(strings.Split(ids, ",")); n != 3 {
			t.Fatalf("the button covers %d members, want the 3 imported", n)
		}
		jobsBefore, auditBefore := ts.count("jobs"), ts.count("audit_log")

		p = hr.want(hr.post("/admin/invitations", url.Values{"member_ids": {ids}}), 303)
		jobID := regexpFind(t, p.Location, jobIDRe)
		if ts.count("jobs") != jobsBefore+1 || ts.count("audit_log") != auditBefore+1 {
			t.Fatalf("jobs %d → %d, audit %d → %d", jobsBefore, ts.count("jobs"), auditBefore, ts.count("audit_log"))
		}
		page := hr.want(hr.get(p.Location), 200)
		for _, want := range []string{`id="job-progress" class="job-bar" max="3" value="0"`, `data-status="running"`, "鈴木 一郎", "V0002",
			"高橋 三郎", `id="job-cancel"`, `/static/js/invitations.js`, `data-progress-url="/admin/invitations/` + jobID + `/progress.json"`,
			"招待メールをバックグラウンドで送信しています"} {
			if !strings.Contains(page.Body, want) {
				t.Errorf("job page lacks %s: %.4000s", want, page.Body)
			}
		}
		if pr := consoleProgress(t, hr, jobID); pr.Status != model.JobRunning || pr.Total != 3 || pr.Settled != 0 {
			t.Fatalf("progress before the worker: %+v", pr)
		}

		stop, err := startInvitations(context.Background(), ts.App, ts.App.svc.Jobs)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		deadline := time.Now().Add(60 * time.Second)
		for pr := consoleProgress(t, hr, jobID); pr.Status == model.JobRunning; pr = consoleProgress(t, hr, jobID) {
			if time.Now().After(deadline) {
				t.Fatalf("job still running: %+v", pr)
			}
			time.Sleep(50 * time.Millisecond)
		}
		pr := consoleProgress(t, hr, jobID)
		if pr.Status != model.JobDone || pr.Settled != 3 || pr.Counts[model.ItemSent] != 3 {
			t.Fatalf("progress at the end: %+v", pr)
		}
		page = hr.want(hr.get("/admin/invitations/"+jobID), 200)
		if !strings.Contains(page.Body, `max="3" value="3"`) || strings.Count(page.Body, `data-state="sent"`) != 3 ||
			strings.Contains(page.Body, `id="job-cancel"`) || !strings.Contains(page.Body, `id="count-sent" data-count="sent">3<`) {
			t.Fatalf("job page at the end: %.4000s", page.Body)
		}
		files, _ := filepath.Glob(filepath.Join(ts.App.cfg.DataDir, "outbox", "*.eml"))
		if len(files) != 3 {
			t.Fatalf("%d e-mails in the outbox, want 3", len(files))
		}
		checkOutboxLinks(t, ts.Store, filepath.Join(ts.App.cfg.DataDir, "outbox"))

		list := hr.want(hr.get("/admin/invitations"), 200)
		if !strings.Contains(list.Body, `data-job="`+jobID+`"`) || !strings.Contains(list.Body, `id="remind-form"`) ||
			!strings.Contains(list.Body, `aria-current="page">招待<`) {
			t.Fatalf("the list: %.3000s", list.Body)
		}
		// A finished job cannot be cancelled; nothing changes.
		hr.want(hr.post("/admin/invitations/"+jobID+"/cancel", nil), 409)
		if pr := consoleProgress(t, hr, jobID); pr.Status != model.JobDone {
			t.Fatalf("a finished job became %s", pr.Status)
		}
	})
}

// TestConsoleInvitationsFromSearch: "invite all members matching this
// search" first says how many the search finds, then makes a job of
// exactly those; a running job can be cancelled from its page.
func TestConsoleInvitationsFromSearch(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, ts *testServer) {
		for i, p := range []struct{ no, family, tier string }{{"S001", "松本", "gold"}, {"S002", "松本", "standard"}, {"S003", "井上", "gold"}} {
			ts.must(ts.do("POST", "/api/v1/members", ts.HRToken, map[string]any{"employee_no": p.no, "family_name": p.family,
				"given_name": "花", "email": "s" + string(rune('a'+i)) + "@example.com", "tier": p.tier, "departed_on": "2024-03-31"}), 201)
		}
		hr := ts.consoleAs(model.RoleHR, "")
		members := hr.want(hr.get("/admin/members?q=松本&tier=gold"), 200)
		link := regexpFind(t, members.Body, `id="invite-search" href="([^"]+)"`)
		link = strings.ReplaceAll(link, "&amp;", "&")
		confirm := hr.want(hr.get(link), 200)
		if !strings.Contains(confirm.Body, `id="invite-count" data-count="1"`) || !strings.Contains(confirm.Body, `name="tier" value="gold"`) {
			t.Fatalf("confirmation: %.3000s", confirm.Body)
		}
		if n := ts.count("jobs"); n != 0 {
			t.Fatalf("the confirmation made a job: %d", n)
		}
		all := hr.want(hr.get("/admin/invitations/new?q=松本"), 200)
		if !strings.Contains(all.Body, `data-count="2"`) {
			t.Fatalf("confirmation for 松本: %.3000s", all.Body)
		}
		none := hr.want(hr.get("/admin/invitations/new?q=存在しない"), 200)
		if !strings.Contains(none.Body, `id="invite-none"`) || strings.Contains(none.Body, `id="invite-search-do"`) {
			t.Fatalf("confirmation for no member: %.3000s", none.Body)
		}
		hr.want(hr.get("/admin/invitations/new?status=bogus"), 400)

		p := hr.want(hr.post("/admin/invitations/search", url.Values{"q": {"松本"}, "tier": {"gold"}}), 303)
		jobID := regexpFind(t, p.Location, jobIDRe)
		pr := consoleProgress(t, hr, jobID)
		if pr.Total != 1 || pr.Source != "search" {
			t.Fatalf("search job: %+v", pr)
		}
		// No worker runs in this test: the job waits, and is cancelled.
		hr.want(hr.post("/admin/invitations/"+jobID+"/cancel", nil), 303, "/admin/invitations/"+jobID+"?msg=invitations_cancelled")
		if pr := consoleProgress(t, hr, jobID); pr.Status != model.JobCancelled || pr.Counts[model.ItemCancelled] != 1 || pr.Settled != 1 {
			t.Fatalf("after cancelling: %+v", pr)
		}
		page := hr.want(hr.get("/admin/invitations/"+jobID), 200)
		if strings.Contains(page.Body, `id="job-cancel"`) || !strings.Contains(page.Body, `data-state="cancelled"`) {
			t.Fatalf("cancelled job page: %.3000s", page.Body)
		}
		// A search that finds nobody makes no job.
		before := ts.count("jobs")
		p = hr.want(hr.post("/admin/invitations/search", url.Values{"q": {"存在しない"}}), 400)
		if !strings.Contains(p.Body, "該当する会員がいないため") || ts.count("jobs") != before {
			t.Fatalf("empty search: jobs %d → %d: %.2000s", before, ts.count("jobs"), p.Body)
		}
	})
}

// TestConsoleInvitationsBadInput: an unknown job is a 404 page (and a 404
// JSON error for the progress), a reminder with an impossible number of
// days says what is wrong, and none of it makes a job.
func TestConsoleInvitationsBadInput(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, ts *testServer) {
		hr := ts.consoleAs(model.RoleHR, "")
		hr.want(hr.get("/admin/invitations"), 200)
		for _, id := range []string{uuid.NewString(), "not-a-job"} {
			p := hr.want(hr.get("/admin/invitations/"+id), 404)
			if !strings.Contains(p.Body, "この招待ジョブは見つかりません") {
				t.Errorf("unknown job page: %.1000s", p.Body)
			}
			hr.want(hr.post("/admin/invitations/"+id+"/cancel", nil), 404)
		}
		req, _ := http.NewRequest("GET", ts.URL+"/admin/invitations/"+uuid.NewString()+"/progress.json", nil)
		req.Header.Set("Accept", "application/json")
		resp, err := hr.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error struct{ Code string } `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 404 || body.Error.Code != "job_not_found" {
			t.Fatalf("progress of an unknown job: %d %+v", resp.StatusCode, body)
		}
		hr.want(hr.get("/admin/invitations/"+uuid.NewString()+"?after=x"), 404)

		for _, days := range []string{"0", "366", "-3", "abc", ""} {
			p := hr.want(hr.post("/admin/invitations/remind", url.Values{"days": {days}}), 400)
			if !strings.Contains(p.Body, "日数は1から365の数字で入力してください") || !strings.Contains(p.Body, `aria-invalid="true"`) {
				t.Errorf("days %q: %.2000s", days, p.Body)
			}
		}
		// Valid, but nobody has an unused link that old.
		p := hr.want(hr.post("/admin/invitations/remind", url.Values{"days": {"7"}}), 404)
		if !strings.Contains(p.Body, "該当する会員がいないため") {
			t.Errorf("reminder for nobody: %.2000s", p.Body)
		}
		for _, ids := range []string{"", "not-an-id", uuid.NewString()} {
			hr.want(hr.post("/admin/invitations", url.Values{"member_ids": {ids}}), 400)
		}
		// Without the CSRF token nothing happens either.
		hr.want(hr.post("/admin/invitations/remind", url.Values{"days": {"7"}, "_csrf": {""}}), 403)
		if n := ts.count("jobs"); n != 0 {
			t.Fatalf("bad input made %d jobs", n)
		}
	})
}

// TestConsoleInvitationsRoles: a viewer sees the invitation pages without
// a button and cannot create or cancel; a partner manager gets nothing.
func TestConsoleInvitationsRoles(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, ts *testServer) {
		f := ts.newFixture("gold")
		job := ts.must(ts.do("POST", "/api/v1/invitations", ts.HRToken, map[string]any{"member_ids": []string{f.MemberID}}), 202)
		jobID := job.Str("id")
		base := "/admin/invitations/" + jobID

		viewer := ts.consoleAs(model.RoleViewer, "")
		for _, path := range []string{"/admin/invitations", base, "/admin/members"} {
			p := viewer.want(viewer.get(path), 200)
			for _, button := range []string{`id="remind-form"`, `id="job-cancel"`, `id="invite-search"`, `action="/admin/invitations`} {
				if strings.Contains(p.Body, button) {
					t.Errorf("%s shows %s to a viewer", path, button)
				}
			}
		}
		if pr := consoleProgress(t, viewer, jobID); pr.ID != jobID {
			t.Fatalf("viewer's progress: %+v", pr)
		}
		viewer.want(viewer.get("/admin/invitations/new?q=x"), 403)
		viewer.want(viewer.post("/admin/invitations", url.Values{"member_ids": {f.MemberID}}), 403)
		viewer.want(viewer.post("/admin/invitations/search", url.Values{"q": {""}}), 403)
		viewer.want(viewer.post("/admin/invitations/remind", url.Values{"days": {"1"}}), 403)
		viewer.want(viewer.post(base+"/cancel", nil), 403)

		pm := ts.consoleAs(model.RolePartnerManager, f.PartnerID)
		for _, path := range []string{"/admin/invitations", base, base + "/progress.json", "/admin/invitations/new"} {
			pm.want(pm.get(path), 403)
		}
		pm.want(pm.post("/admin/invitations", url.Values{"member_ids": {f.MemberID}}), 403)
		pm.want(pm.post(base+"/cancel", nil), 403)

		if n := ts.count("jobs"); n != 1 {
			t.Fatalf("%d jobs, want the 1 made through the API", n)
		}
		if pr := consoleProgress(t, ts.consoleAs(model.RoleHR, ""), jobID); pr.Status != model.JobRunning {
			t.Fatalf("the job is %s after the refused cancels", pr.Status)
		}
	})
}

// consoleProgress is a job's progress.json, as the job page's script reads it.
func consoleProgress(t *testing.T, cc *consoleClient, id string) consoleJobProgress {
	t.Helper()
	req, err := http.NewRequest("GET", cc.ts.URL+"/admin/invitations/"+id+"/progress.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := cc.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("progress.json: status %d", resp.StatusCode)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("progress.json Cache-Control %q", cc)
	}
	var pr consoleJobProgress
	if err := json.NewDecoder(resp.Body).Decode(&pr); err != nil {
		t.Fatal(err)
	}
	return pr
}

type consoleJobProgress struct {
	ID      string         `json:"id"`
	Status  string         `json:"status"`
	Source  string         `json:"source"`
	Total   int            `json:"total"`
	Settled int            `json:"settled"`
	Counts  map[string]int `json:"counts"`
}

// missingKey finds a catalogue key shown instead of its text.
var missingKey = regexp.MustCompile(`admin\.(invitations?|invite_search|err|msg|nav|import\.invite|members\.invite)\.[a-z_.]+`)

// TestConsoleInvitationPagesEnglishAndPaged: a job of 55 members lists 50
// on its page and the other 5 on the next; every invitation page reads in
// English with no catalogue key left untranslated.
func TestConsoleInvitationPagesEnglishAndPaged(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, ts *testServer) {
		var csv strings.Builder
		csv.WriteString("employee_no,family_name,given_name,email,tier,departed_on\n")
		for i := range 55 {
			fmt.Fprintf(&csv, "P%04d,Tanaka,Ken%d,ken%d@example.com,standard,2024-03-31\n", i, i, i)
		}
		ts.must(ts.raw("POST", "/api/v1/members/import", ts.HRToken, "text/csv", []byte(csv.String())), 200)
		hr := ts.consoleAs(model.RoleHR, "")
		hr.want(hr.get("/admin/members?lang=en"), 200) // English from here on (the lang cookie)
		confirm := hr.want(hr.get("/admin/invitations/new?q=Tanaka"), 200)
		p := hr.want(hr.post("/admin/invitations/search", url.Values{"q": {"Tanaka"}}), 303)
		jobID := regexpFind(t, p.Location, jobIDRe)
		first := hr.want(hr.get(p.Location), 200)
		if n := strings.Count(first.Body, `data-state="pending"`); n != 50 {
			t.Fatalf("first page lists %d members, want 50", n)
		}
		next := regexpFind(t, first.Body, `href="([^"]+)" id="items-next"`)
		if next != "/admin/invitations/"+jobID+"?after=50" {
			t.Fatalf("next page link %q", next)
		}
		second := hr.want(hr.get(next), 200)
		if n := strings.Count(second.Body, `data-state="pending"`); n != 5 || strings.Contains(second.Body, `id="items-next"`) ||
			!strings.Contains(second.Body, `<td class="num">55</td>`) || !strings.Contains(second.Body, "Ken54 Tanaka") {
			t.Fatalf("second page: %d members: %.3000s", n, second.Body)
		}
		list := hr.want(hr.get("/admin/invitations"), 200)
		bad := hr.want(hr.post("/admin/invitations/remind", url.Values{"days": {"0"}}), 400)
		for name, page := range map[string]*consolePage{"confirm": confirm, "job": first, "list": list, "remind error": bad} {
			if m := missingKey.FindString(page.Body); m != "" {
				t.Errorf("%s page shows the key %s", name, m)
			}
			if !strings.Contains(page.Body, `<html lang="en">`) {
				t.Errorf("%s page is not in English", name)
			}
		}
		for _, want := range []string{"Invitation job", "Result per member", "Waiting", "The invitations are being sent in the background"} {
			if !strings.Contains(first.Body, want) {
				t.Errorf("the English job page lacks %q", want)
			}
		}
		if !strings.Contains(confirm.Body, `data-count="55"`) || !strings.Contains(confirm.Body, "members match this search") {
			t.Errorf("English confirmation: %.2000s", confirm.Body)
		}
		if !strings.Contains(bad.Body, "Enter a number of days from 1 to 365.") {
			t.Errorf("English reminder error: %.2000s", bad.Body)
		}
	})
}

// TestConsoleInvitationsFromALargeImport: the button after an import of
// 2,000 leavers posts their 2,000 ids (about 74 KB, over the 64 KiB of an
// ordinary form) and must start the job rather than answer 413.
func TestConsoleInvitationsFromALargeImport(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		hr := ts.consoleAs(model.RoleHR, "")
		var csv strings.Builder
		csv.WriteString("社員番号,姓,名,メールアドレス,区分,退職日\n")
		for i := range 2000 {
			fmt.Fprintf(&csv, "W%05d,森,花子,hanako%d@example.com,standard,2024-03-31\n", i, i)
		}
		p := hr.want(hr.upload("/admin/import", "file", "members.csv", []byte(csv.String()), url.Values{"encoding": {"auto"}}), 200)
		hash := regexpFind(t, p.Body, `name="hash" value="([0-9a-f]{64})"`)
		p = hr.want(hr.post("/admin/import/apply", url.Values{"hash": {hash}, "encoding": {"auto"}}), 200)
		ids := regexpFind(t, p.Body, `name="member_ids" value="([0-9a-f,-]+)"`)
		if n := len(strings.Split(ids, ",")); n != 2000 {
			t.Fatalf("the button covers %d members, want 2000", n)
		}
		p = hr.want(hr.post("/admin/invitations", url.Values{"member_ids": {ids}}), 303)
		jobID := regexpFind(t, p.Location, jobIDRe)
		if pr := consoleProgress(t, hr, jobID); pr.Total != 2000 {
			t.Fatalf("job of %d members, want 2000", pr.Total)
		}
	})
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestBulkInvitationThroughTheAPI: HR imports 30 leavers, invites the
// members the import created, and follows the job to its end through the
// API: one enrolment e-mail per member in the outbox, each item sent, the
// progress settled; a search and a reminder make jobs too, and a member's
// edited tier is what the next scan shows.
func TestBulkInvitationThroughTheAPI(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		stop, err := startInvitations(context.Background(), ts.App, ts.App.svc.Jobs)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		var csv bytes.Buffer
		csv.WriteString("employee_no,family_name,given_name,email,tier,departed_on\n")
		for i := range 30 {
			fmt.Fprintf(&csv, "B%04d,中村,結衣,yui%d@example.jp,standard,2024-03-31\n", i, i)
		}
		rep := ts.must(ts.raw("POST", "/api/v1/members/import", ts.HRToken, "text/csv", csv.Bytes()), 200)
		var ids []string
		for _, l := range rep.JSON["lines"].([]any) {
			line := l.(map[string]any)
			if line["action"] == "create" {
				ids = append(ids, line["member_id"].(string))
			}
		}
		if len(ids) != 30 {
			t.Fatalf("import created %d: %.300s", len(ids), rep.Body)
		}
		job := ts.must(ts.do("POST", "/api/v1/invitations", ts.HRToken, map[string]any{"member_ids": ids}), 202)
		if job.Str("status") != "running" || job.JSON["total"].(float64) != 30 {
			t.Fatalf("job: %s", job.Body)
		}
		done := waitInvitation(t, ts, job.Str("id"))
		if counts := done.JSON["counts"].(map[string]any); counts["sent"].(float64) != 30 || done.JSON["settled"].(float64) != 30 {
			t.Fatalf("job at its end: %s", done.Body)
		}
		items := ts.must(ts.do("GET", "/api/v1/invitations/"+job.Str("id")+"/items?state=sent&limit=100", ts.HRToken, nil), 200)
		if n := len(items.JSON["items"].([]any)); n != 30 {
			t.Fatalf("%d sent items: %.300s", n, items.Body)
		}
		outbox := filepath.Join(ts.App.cfg.DataDir, "outbox")
		if files, _ := filepath.Glob(filepath.Join(outbox, "*.eml")); len(files) != 30 {
			t.Fatalf("%d e-mails in the outbox, want 30", len(files))
		}
		checkOutboxLinks(t, ts.Store, outbox)

		// The same members again by a search: all enrolled? No — their
		// links are unused, so each gets a new one (one more e-mail each).
		again := ts.must(ts.do("POST", "/api/v1/invitations", ts.HRToken, map[string]any{"search": map[string]any{"q": "中村"}}), 202)
		if again.JSON["total"].(float64) != 30 {
			t.Fatalf("search job: %s", again.Body)
		}
		waitInvitation(t, ts, again.Str("id"))
		if files, _ := filepath.Glob(filepath.Join(outbox, "*.eml")); len(files) != 60 {
			t.Fatalf("%d e-mails after the second job, want 60", len(files))
		}
		// A reminder a day later finds nobody: every link is new.
		if r := ts.do("POST", "/api/v1/invitations", ts.HRToken, map[string]any{"not_enrolled_days": 1}); r.Status != 404 || r.Code() != "no_members" {
			t.Fatalf("reminder: %d %s", r.Status, r.Body)
		}
	})
}

// waitInvitation polls a job until it is done.
func waitInvitation(t *testing.T, ts *testServer, id string) *response {
	t.Helper()
	for i := 0; ; i++ {
		r := ts.must(ts.do("GET", "/api/v1/invitations/"+id, ts.HRToken, nil), 200)
		if r.Str("status") == "done" {
			return r
		}
		if i > 1200 {
			t.Fatalf("job not done in a minute: %s", r.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestEditsThroughTheAPI: PATCH a member, a perk, a venue and a partner;
// each answer is the new state, each write audited, and a closed venue's
// and a deactivated partner's keys stop.
func TestEditsThroughTheAPI(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		f := ts.newFixture("gold")
		m := ts.must(ts.do("PATCH", "/api/v1/members/"+f.MemberID, ts.HRToken, map[string]any{"tier": "Silver", "family_name_kana": "やまだ"}), 200)
		if m.Str("tier") != "silver" || m.Str("family_name_kana") != "ヤマダ" {
			t.Fatalf("patched member: %s", m.Body)
		}
		if r := ts.verify(f.DeviceKey, f.cardCode(t, time.Now())); r.Str("tier") != "silver" {
			t.Fatalf("the next scan: %s", r.Body)
		}
		if r := ts.do("PATCH", "/api/v1/members/"+f.MemberID, ts.HRToken, map[string]any{"email": "nope"}); r.Status != 400 || r.Code() != "invalid_email" {
			t.Fatalf("a bad e-mail: %d %s", r.Status, r.Body)
		}
		pk := ts.must(ts.do("PATCH", "/api/v1/partners/"+f.PartnerID+"/perks/"+f.PerkID, ts.HRToken, map[string]any{"eligible_tiers": []string{"gold"}}), 200)
		if tiers := pk.JSON["eligible_tiers"].([]any); len(tiers) != 1 || tiers[0] != "gold" {
			t.Fatalf("patched perk: %s", pk.Body)
		}
		audit := ts.must(ts.do("GET", "/api/v1/audit?target="+f.MemberID+"&action=member.update", ts.HRToken, nil), 200)
		if n := len(audit.JSON["entries"].([]any)); n != 1 {
			t.Fatalf("member.update audited %d times: %s", n, audit.Body)
		}
		v := ts.must(ts.do("PATCH", "/api/v1/partners/"+f.PartnerID+"/venues/"+f.VenueID, ts.HRToken, map[string]any{"closed": true}), 200)
		if v.Str("closed_at") == "" {
			t.Fatalf("closed venue: %s", v.Body)
		}
		if r := ts.do("POST", "/api/v1/verify", f.DeviceKey, map[string]string{"code": "x"}); r.Status != 401 {
			t.Fatalf("a closed venue's key: %d %s", r.Status, r.Body)
		}
		if r := ts.do("POST", "/api/v1/partners/"+f.PartnerID+"/keys", ts.HRToken, map[string]any{"name": "again", "venue_id": f.VenueID}); r.Status != 409 || r.Code() != "venue_closed" {
			t.Fatalf("a key for a closed venue: %d %s", r.Status, r.Body)
		}
		p := ts.must(ts.do("PATCH", "/api/v1/partners/"+f.PartnerID, ts.HRToken, map[string]any{"active": false}), 200)
		if p.Str("deactivated_at") == "" {
			t.Fatalf("deactivated partner: %s", p.Body)
		}
	})
}

// TestBulkInvitationOfALargeImport: HR imports 2,000 leavers and invites
// the members the import created by their ids, as the first week
// does; the list (about 80 KB) is over the 64 KiB of an ordinary JSON body
// and must still be taken, while a list over MaxListBody is refused with
// 413 and makes no job.
func TestBulkInvitationOfALargeImport(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		var csv bytes.Buffer
		csv.WriteString("employee_no,family_name,given_name,email,tier,departed_on\n")
		for i := range 2000 {
			fmt.Fprintf(&csv, "L%05d,佐藤,健,ken%d@example.jp,standard,2024-03-31\n", i, i)
		}
		rep := ts.must(ts.raw("POST", "/api/v1/members/import", ts.HRToken, "text/csv", csv.Bytes()), 200)
		var ids []string
		for _, l := range rep.JSON["lines"].([]any) {
			if line := l.(map[string]any); line["action"] == "create" {
				ids = append(ids, line["member_id"].(string))
			}
		}
		if len(ids) != 2000 {
			t.Fatalf("import created %d members", len(ids))
		}
		job := ts.must(ts.do("POST", "/api/v1/invitations", ts.HRToken, map[string]any{"member_ids": ids}), 202)
		if job.JSON["total"].(float64) != 2000 {
			t.Fatalf("job: %.300s", job.Body)
		}

		// 52,500 ids: over the limit (and over the 50,000 of a job), under
		// the 2 MiB past which a body is cut off unread, so the answer is
		// a 413, not a reset connection.
		const n = 52500
		huge := make([]string, 0, n+len(ids))
		for len(huge) < n {
			huge = append(huge, ids...)
		}
		body, _ := json.Marshal(map[string]any{"member_ids": huge[:n]})
		if len(body) <= maxListBody || len(body) > 2<<20 {
			t.Fatalf("test body of %d bytes is not between the limit and 2 MiB", len(body))
		}
		r := ts.raw("POST", "/api/v1/invitations", ts.HRToken, "application/json", body)
		if r.Status != 413 {
			t.Fatalf("a %d-byte list: %d %.200s", len(body), r.Status, r.Body)
		}
		list := ts.must(ts.do("GET", "/api/v1/invitations", ts.HRToken, nil), 200)
		if n := len(list.JSON["invitations"].([]any)); n != 1 {
			t.Fatalf("%d jobs after the refused list, want 1", n)
		}
	})
}

// maxListBody is httpkit.MaxListBody: a bulk invitation's list of members.
const maxListBody = 2<<20 - 64<<10

package main

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/credential"
	"github.com/alumnipass/alumnipass/internal/store"
)

var recoverLink = regexp.MustCompile(`/w/recover/(apr_\S+)`)

// outboxMails reads the decoded bodies of the e-mails in the outbox, by file.
func outboxMails(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	fs, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	for _, f := range fs {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, msg.Body))
		if err != nil {
			t.Fatal(err)
		}
		out[f] = msg.Header.Get("To") + "\n" + string(body)
	}
	return out
}

// TestLostPhoneRecovery: an alumnus who lost the phone asks for a link at
// the e-mail on file; the page answers the same for an unknown address; the
// link asks before it changes anything, works once, and sends the new phone
// to enrol a new card; the old wallet and its codes stop, the new ones are
// valid; requests are limited.
func TestLostPhoneRecovery(t *testing.T) {
	ts := startServer(t, store.SQLite)
	now := time.Now().UTC().Truncate(time.Second)
	ts.Clock.Set(now)
	f := ts.newFixture("gold")
	if r := ts.verify(f.DeviceKey, f.cardCode(t, now)); r.Str("result") != "valid" {
		t.Fatalf("before: %s", r.Body)
	}
	email := ts.must(ts.do("GET", "/api/v1/members/"+f.MemberID, ts.HRToken, nil), 200).Str("email")
	outbox := filepath.Join(ts.App.cfg.DataDir, "outbox")

	phone := ts.newConsoleClient() // a browser: cookies and the page's CSRF token
	phone.want(phone.get("/w/recover"), 200)
	unknown := phone.want(phone.post("/w/recover", url.Values{"email": {"nobody@example.com"}}), 200)
	known := phone.want(phone.post("/w/recover", url.Values{"email": {strings.ToUpper(email[:1]) + email[1:]}}), 200)
	state := regexp.MustCompile(`id="recover" data-state="(\w+)"`)
	if a, b := state.FindStringSubmatch(unknown.Body), state.FindStringSubmatch(known.Body); a == nil || b == nil || a[1] != "sent" || b[1] != "sent" {
		t.Fatalf("answers differ or are not 'sent': %v %v", a, b)
	}
	var token string
	for i := 0; i < 100 && token == ""; i++ {
		for _, body := range outboxMails(t, outbox) {
			if m := recoverLink.FindStringSubmatch(body); m != nil && strings.Contains(body, email) {
				token = m[1]
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if token == "" {
		t.Fatal("no recovery e-mail in the outbox")
	}
	if n := len(outboxMails(t, outbox)); n != 1 {
		t.Fatalf("%d e-mails in the outbox; the unknown address must get none", n)
	}

	// Following the link changes nothing until the alumnus confirms.
	newPhone := ts.newConsoleClient()
	confirm := newPhone.want(newPhone.get("/w/recover/"+token), 200)
	if !strings.Contains(confirm.Body, `id="recover-confirm"`) {
		t.Fatalf("confirm page: %.800s", confirm.Body)
	}
	if r := ts.verify(f.DeviceKey, f.cardCode(t, now.Add(30*time.Second))); r.Str("result") != "valid" {
		t.Fatalf("opening the link replaced the card: %s", r.Body)
	}
	p := newPhone.want(newPhone.post("/w/recover/"+token, nil), 303)
	if !strings.HasPrefix(p.Location, "/w/enroll/") {
		t.Fatalf("after confirming: %q", p.Location)
	}
	enr := ts.must(ts.do("POST", "/api/v1/wallet/enroll", "", map[string]any{"token": strings.TrimPrefix(p.Location, "/w/enroll/"), "consent": true}), 201)

	// The old wallet and its codes stop; the new ones work.
	if r := ts.do("GET", "/api/v1/wallet/code", f.WalletToken, nil); r.Status < 400 {
		t.Fatalf("the old wallet still gets codes: %d %s", r.Status, r.Body)
	}
	at := now.Add(60 * time.Second)
	ts.Clock.Set(at)
	if r := ts.verify(f.DeviceKey, f.cardCode(t, at)); r.Str("result") != "revoked" {
		t.Fatalf("the old phone's code: %s", r.Body)
	}
	n := &fixture{SignedPart: enr.Str("signed_part"), Secret: enr.Str("totp_secret")}
	if !strings.HasPrefix(n.cardCode(t, at), credential.Prefix) {
		t.Fatal("no new code")
	}
	if r := ts.verify(f.DeviceKey, n.cardCode(t, at)); r.Str("result") != "valid" {
		t.Fatalf("the new phone's code: %s", r.Body)
	}

	// The link works once.
	if again := newPhone.do(mustPost(t, newPhone, "/w/recover/"+token, url.Values{})); again.Status != 404 {
		t.Fatalf("the link worked twice: %d", again.Status)
	}
	// Five requests an hour per address: the sixth is refused.
	var last *consolePage
	for i := 0; i < 4; i++ {
		last = phone.do(mustPost(t, phone, "/w/recover", url.Values{"email": {"someone@example.com"}}))
	}
	if last.Status != 429 || last.Header.Get("Retry-After") == "" {
		t.Fatalf("the sixth request: %d", last.Status)
	}
}

package main

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

// TestEnrolmentLetterNamesTheCompany: the printed letter and the e-mail are
// signed with the configured company name, in the member's language
// (ALUMNIPASS_COMPANY_NAME for Japanese, ALUMNIPASS_COMPANY_NAME_EN for
// English).
func TestEnrolmentLetterNamesTheCompany(t *testing.T) {
	t.Parallel()
	ts := startServerEnv(t, storetest.Open(t, store.SQLite), "", map[string]string{
		"ALUMNIPASS_COMPANY_NAME": "株式会社サンプル商事", "ALUMNIPASS_COMPANY_NAME_EN": "Sample Trading Co., Ltd."})
	cc := ts.consoleAs(model.RoleHR, "")
	for _, c := range []struct{ no, family, given, locale, company, other string }{
		{"C0001", "山田", "太郎", "ja", "株式会社サンプル商事", "Sample Trading"},
		{"C0002", "Smith", "Alex", "en", "Sample Trading Co., Ltd.", "サンプル商事"},
	} {
		m := ts.must(ts.do("POST", "/api/v1/members", ts.HRToken, map[string]any{"employee_no": c.no, "family_name": c.family,
			"given_name": c.given, "email": strings.ToLower(c.given) + "@example.com", "tier": "standard", "departed_on": "2023-12-31", "locale": c.locale}), 201)
		id := m.Str("id")
		p := cc.want(cc.post("/admin/members/"+id+"/cards", nil), 200)
		token := regexpFind(t, p.Body, `name="token" value="(ape_[a-z0-9]+)"`)
		letter := cc.want(cc.post("/admin/members/"+id+"/letter", url.Values{"token": {token}}), 200)
		company := regexpFind(t, letter.Body, `id="letter-company">([^<]*)<`)
		if company != c.company || strings.Contains(letter.Body, c.other) {
			t.Errorf("%s letter signed by %q, want %q only", c.locale, company, c.company)
		}
		cc.want(cc.post("/admin/members/"+id+"/send-enrollment", url.Values{"token": {token}}), 200)
	}
	mails, err := filepath.Glob(filepath.Join(ts.App.cfg.DataDir, "outbox", "*"))
	if err != nil || len(mails) != 2 {
		t.Fatalf("outbox: %v %v", mails, err)
	}
	var all string
	for _, f := range mails {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		b64, err := io.ReadAll(msg.Body)
		if err != nil {
			t.Fatal(err)
		}
		body, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b64)), ""))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		all += string(body)
	}
	for _, want := range []string{"株式会社サンプル商事", "Sample Trading Co., Ltd."} {
		if !strings.Contains(all, want) {
			t.Errorf("no e-mail is signed %q", want)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/credential"
	"github.com/alumnipass/alumnipass/internal/statuslist"
)

// phone is a wallet bound to a device key (format version 2).
type phone struct {
	key        *ecdsa.PrivateKey
	cardID     string
	signedPart string
	wallet     string
}

// newPhoneKey makes a P-256 key as the wallet's WebCrypto does, and its raw
// public form in base64url as the wallet sends it.
func newPhoneKey(t *testing.T) (*ecdsa.PrivateKey, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := k.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return k, base64.RawURLEncoding.EncodeToString(raw)
}

// enrolPhone creates a member and enrols its card with a device key.
func (ts *testServer) enrolPhone(t *testing.T, employeeNo string) *phone {
	t.Helper()
	m := ts.must(ts.do("POST", "/api/v1/members", ts.HRToken, map[string]any{
		"employee_no": employeeNo, "family_name": "鈴木", "given_name": "花子", "email": employeeNo + "@example.com",
		"tier": "gold", "departed_on": "2024-03-31"}), 201)
	card := ts.must(ts.do("POST", "/api/v1/members/"+m.Str("id")+"/cards", ts.HRToken, nil), 201)
	key, pub := newPhoneKey(t)
	enr := ts.must(ts.do("POST", "/api/v1/wallet/enroll", "", map[string]any{
		"token": card.Str("enrollment_token"), "consent": true, "device_key": pub}), 201)
	dev, _ := enr.JSON["device"].(map[string]any)
	if dev == nil || enr.Str("totp_secret") != "" || dev["code_prefix"] != "AP2:C" {
		t.Fatalf("enrolment with a device key: %s", enr.Body)
	}
	return &phone{key: key, cardID: enr.Str("card_id"), signedPart: dev["signed_part_v2"].(string), wallet: enr.Str("wallet_token")}
}

// code is the phone's live code at t, signed with key (the phone's own, or
// another one to play a copy of the wallet without it).
func (p *phone) code(t *testing.T, key *ecdsa.PrivateKey, at time.Time) string {
	t.Helper()
	step := credential.StepOf(at)
	sig, err := credential.SignStep(key, [16]byte(uuid.MustParse(p.cardID)), step, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return credential.CardCodeV2(p.signedPart, step, sig)
}

// TestDeviceBoundCardsOnline: a card enrolled with a device key answers
// valid for the phone's live code, stale for an old one (with the offset),
// invalid for a code signed by any other key; the server will not make its
// code, and binding a version 1 card makes its TOTP codes (all a copy of
// the wallet's data could make) invalid.
func TestDeviceBoundCardsOnline(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		now := time.Now().UTC().Truncate(time.Second)
		ts.Clock.Set(now)
		f := ts.newFixture("gold")
		ph := ts.enrolPhone(t, "D0001")
		verify := func(code, want string) *response {
			t.Helper()
			r := ts.must(ts.do("POST", "/api/v1/verify", f.DeviceKey, map[string]string{"code": code}), 200)
			if r.Str("result") != want {
				t.Fatalf("verify: %s, want %s", r.Body, want)
			}
			return r
		}
		verify(ph.code(t, ph.key, now), "valid")
		// ECDSA signatures are random: another text of the same step is the same code.
		if r := verify(ph.code(t, ph.key, now), "valid"); r.JSON["repeat"] != true {
			t.Errorf("a second text of the same step is not a repeat: %s", r.Body)
		}
		verify(ph.code(t, ph.key, now.Add(-30*time.Second)), "valid")
		if r := verify(ph.code(t, ph.key, now.Add(-3*time.Minute)), "stale"); r.JSON["offset_seconds"] != float64(-180) {
			t.Errorf("stale offset: %s", r.Body)
		}
		other, _ := newPhoneKey(t)
		verify(ph.code(t, other, now), "invalid")
		ts.must(ts.do("GET", "/api/v1/wallet/code", ph.wallet, nil), 409)
		_, pub := newPhoneKey(t)
		ts.must(ts.do("POST", "/api/v1/wallet/device", ph.wallet, map[string]string{"public_key": pub}), 409)

		// Upgrading a version 1 card: its TOTP codes stop working.
		verify(f.cardCode(t, now), "valid")
		ts.must(ts.do("POST", "/api/v1/wallet/device", f.WalletToken, map[string]string{"public_key": "not a key"}), 400)
		key, pub := newPhoneKey(t)
		b := ts.must(ts.do("POST", "/api/v1/wallet/device", f.WalletToken, map[string]string{"public_key": pub}), 201)
		verify(f.cardCode(t, now.Add(30*time.Second)), "invalid")
		up := &phone{key: key, cardID: f.CardID, signedPart: b.Str("signed_part_v2")}
		verify(up.code(t, key, now), "valid")
	})
}

// verifyOffline runs `alumnipass verify-offline` and returns its verdict.
func verifyOffline(t *testing.T, args ...string) map[string]any {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), append([]string{"verify-offline"}, args...), &out, &errOut); err != nil {
		t.Fatalf("verify-offline %v: %v\n%s", args, err, errOut.String())
	}
	var v map[string]any
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatalf("verdict %q: %v", out.String(), err)
	}
	return v
}

// TestVerifyOfflineWithServerFiles: keys.json and the status list as a real
// server publishes them, then `alumnipass verify-offline` with no database
// and no network: a live v2 code is valid, a screenshot is stale, a v1 card
// is freshness_unknown, a revocation that arrives in a delta is refused, and
// everything is refused once the data is older than the limit.
func TestVerifyOfflineWithServerFiles(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		now := time.Now().UTC().Truncate(time.Second)
		ts.Clock.Set(now)
		f := ts.newFixture("gold")
		ph := ts.enrolPhone(t, "D0002")
		dir := t.TempDir()
		save := func(name, path string) string {
			t.Helper()
			r := ts.must(ts.do("GET", path, "", nil), 200)
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, r.Body, 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}
		keys := save("keys.json", "/.well-known/alumnipass/keys.json")
		full := save("full", "/.well-known/alumnipass/status-list")
		b, _ := os.ReadFile(full)
		l, err := statuslist.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		at := func(d time.Duration) string { return "--at=" + now.Add(d).Format(time.RFC3339) }
		live := ph.code(t, ph.key, now)
		cases := []struct {
			name string
			args []string
			want string
		}{
			{"live v2 code", []string{at(0), live}, "valid"},
			{"screenshot two minutes old", []string{at(2 * time.Minute), live}, "stale"},
			{"v1 card", []string{at(0), f.cardCode(t, now)}, "freshness_unknown"},
			{"data older than the limit", []string{at(16 * time.Minute), ph.code(t, ph.key, now.Add(16*time.Minute))}, "data_too_old"},
			{"a partner's longer limit", []string{at(16 * time.Minute), "--max-age=1h", ph.code(t, ph.key, now.Add(16*time.Minute))}, "valid"},
		}
		for _, c := range cases {
			v := verifyOffline(t, append([]string{"--keys", keys, "--status", full}, c.args...)...)
			if v["result"] != c.want || v["offline"] != true {
				t.Errorf("%s: %v, want %s", c.name, v, c.want)
			}
		}

		// HR revokes the member; the scanner's next fetch is a delta.
		m := ts.must(ts.do("GET", "/api/v1/members?q=D0002&limit=1", ts.HRToken, nil), 200)
		id := m.JSON["members"].([]any)[0].(map[string]any)["id"].(string)
		ts.must(ts.do("POST", "/api/v1/members/"+id+"/revoke", ts.HRToken, map[string]string{"reason": "退職時の合意"}), 200)
		ts.Clock.Set(now.Add(time.Minute))
		delta := save("delta", "/.well-known/alumnipass/status-list?since="+strconv.FormatUint(l.Seq, 10))
		v := verifyOffline(t, "--keys", keys, "--status", full, "--status", delta, at(time.Minute), ph.code(t, ph.key, now.Add(time.Minute)))
		if v["result"] != "revoked" || v["data_age_seconds"] != float64(0) {
			t.Errorf("after the delta: %v", v)
		}
		// The full list says so too, and the online verifier agrees.
		full2 := save("full2", "/.well-known/alumnipass/status-list")
		if v := verifyOffline(t, "--keys", keys, "--status", full2, at(time.Minute), ph.code(t, ph.key, now.Add(time.Minute))); v["result"] != "revoked" {
			t.Errorf("full list after the revocation: %v", v)
		}
		r := ts.must(ts.do("POST", "/api/v1/verify", f.DeviceKey, map[string]string{"code": ph.code(t, ph.key, now.Add(time.Minute))}), 200)
		if r.Str("result") != "revoked" {
			t.Errorf("online: %s", r.Body)
		}
		if r := ts.must(ts.do("GET", "/.well-known/alumnipass/status-list?since="+fmt.Sprint(l.Seq+100), "", nil), 400); r.Code() != "invalid_since" {
			t.Errorf("since ahead of the list: %s", r.Body)
		}
		// A status list from another issuer is not used.
		other := startServer(t, "sqlite")
		otherKeys := filepath.Join(dir, "other-keys.json")
		r = other.must(other.do("GET", "/.well-known/alumnipass/keys.json", "", nil), 200)
		_ = os.WriteFile(otherKeys, r.Body, 0o600)
		var errOut bytes.Buffer
		if err := run(context.Background(), []string{"verify-offline", "--keys", otherKeys, "--status", full, live}, &bytes.Buffer{}, &errOut); err == nil {
			t.Error("a status list signed by another issuer was used")
		}
	})
}

// TestOfflineScanUpload: scans a scanner decided offline are uploaded when
// the network returns; each is decided as of its time and recorded, and one
// of a code used at another venue meanwhile comes back replayed, with the
// venue, marked as differing from the scanner's own answer.
func TestOfflineScanUpload(t *testing.T) {
	eachDialect(t, func(t *testing.T, ts *testServer) {
		now := time.Now().UTC().Truncate(time.Second)
		ts.Clock.Set(now)
		basement, street := ts.newFixture("gold"), ts.newFixture("gold")
		ph := ts.enrolPhone(t, "D0003")
		// The same live code is shown at the street venue, online...
		t1 := now.Add(5 * time.Minute)
		shown := ph.code(t, ph.key, t1)
		ts.Clock.Set(t1)
		if r := ts.must(ts.do("POST", "/api/v1/verify", street.DeviceKey, map[string]string{"code": shown}), 200); r.Str("result") != "valid" {
			t.Fatalf("street: %s", r.Body)
		}
		// ...and, a few seconds later, in the basement, which decided it offline.
		ts.Clock.Set(now.Add(20 * time.Minute))
		t2 := now.Add(10 * time.Minute)
		later := ph.code(t, ph.key, t2)
		r := ts.must(ts.do("POST", "/api/v1/verify/offline", basement.DeviceKey, map[string]any{"scans": []map[string]any{
			{"code": shown, "scanned_at": t1.Add(10 * time.Second).Format(time.RFC3339), "offline_result": "valid"},
			{"code": later, "scanned_at": t2.Format(time.RFC3339), "offline_result": "valid"},
			{"code": "AP2:Cgarbage", "scanned_at": t2.Format(time.RFC3339), "offline_result": "invalid"},
		}}), 200)
		res := r.JSON["results"].([]any)
		first, second, third := res[0].(map[string]any), res[1].(map[string]any), res[2].(map[string]any)
		if first["result"] != "replayed" || first["differs"] != true || first["first_venue"] == "" {
			t.Errorf("the replay: %v", first)
		}
		if second["result"] != "valid" || second["differs"] != false {
			t.Errorf("a scan decided offline 10 minutes ago, as of then: %v", second)
		}
		if third["result"] != "invalid" || third["differs"] != false {
			t.Errorf("garbage: %v", third)
		}
		// A single-use guest pass used at the street venue, then shown in the basement offline.
		ts.Clock.Set(now.Add(20 * time.Minute))
		gp := ts.must(ts.do("POST", "/api/v1/wallet/guest-passes", basement.WalletToken, map[string]any{
			"party_size": 1, "valid_until": now.Add(48 * time.Hour).Format(time.RFC3339)}), 201)
		gv := ts.must(ts.do("POST", "/api/v1/verify", street.DeviceKey, map[string]string{"code": gp.Str("code")}), 200)
		ts.must(ts.do("POST", "/api/v1/redemptions", street.DeviceKey, map[string]any{"verification_id": gv.Str("verification_id"),
			"perk_id": street.PerkID, "party_size": 1}, "Idempotency-Key", "offline-guest-1"), 201)
		r = ts.must(ts.do("POST", "/api/v1/verify/offline", basement.DeviceKey, map[string]any{"scans": []map[string]any{
			{"code": gp.Str("code"), "scanned_at": now.Add(21 * time.Minute).Format(time.RFC3339), "offline_result": "valid"}}}), 200)
		if g := r.JSON["results"].([]any)[0].(map[string]any); g["result"] != "used_up" || g["differs"] != true {
			t.Errorf("a used-up guest pass scanned offline: %v", g)
		}
		ts.must(ts.do("POST", "/api/v1/verify/offline", basement.DeviceKey, map[string]any{"scans": []any{}}), 400)
		ts.must(ts.do("POST", "/api/v1/verify/offline", ts.HRToken, map[string]any{"scans": []map[string]any{{"code": shown}}}), 403)
	})
}

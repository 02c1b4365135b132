package offline

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/credential"
	"github.com/alumnipass/alumnipass/internal/statuslist"
)

// fixture is an issuer, a device-bound card, a v1 card and a guest pass.
type fixture struct {
	t        *testing.T
	priv     ed25519.PrivateKey
	kid      [8]byte
	keysJSON []byte
	device   *ecdsa.PrivateKey
	v2Signed string
	v2Card   credential.CardV2
	v1Code   string
	v1Card   credential.Card
	guest    string
	pass     credential.GuestPass
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func id(b byte) [16]byte {
	var x [16]byte
	for i := range x {
		x[i] = b + byte(i)
	}
	return x
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	pub := priv.Public().(ed25519.PublicKey)
	f := &fixture{t: t, priv: priv, kid: credential.KeyIDOf(pub)}
	f.keysJSON, _ = json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA",
		"kid": credential.KeyIDString(f.kid), "x": base64.RawURLEncoding.EncodeToString(pub)}}})
	f.device, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	raw, _ := f.device.PublicKey.Bytes()
	dk, err := credential.CompressDeviceKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	card := credential.Card{KeyID: f.kid, CardID: id(0xa0), IssuedAt: t0.AddDate(0, -1, 0), ExpiresAt: t0.AddDate(1, 0, 0), Companions: 2, Tier: "gold"}
	f.v2Card = credential.CardV2{Card: card, DeviceKey: dk}
	if f.v2Signed, err = credential.SignCardV2(priv, f.v2Card); err != nil {
		t.Fatal(err)
	}
	f.v1Card = card
	f.v1Card.CardID = id(0xc0)
	sp, err := credential.SignCard(priv, f.v1Card)
	if err != nil {
		t.Fatal(err)
	}
	f.v1Code = credential.CardCode(sp, credential.TOTP([]byte("12345678901234567890"), t0))
	f.pass = credential.GuestPass{KeyID: f.kid, PassID: id(0xb0), HostCardID: id(0xc0), ValidFrom: t0.Add(-time.Hour), ValidUntil: t0.Add(time.Hour), MaxUses: 1, PartySize: 3}
	if f.guest, err = credential.SignGuestPass(priv, f.pass); err != nil {
		t.Fatal(err)
	}
	return f
}

// v2Code is the card's live code at t, signed by dev.
func (f *fixture) v2Code(dev *ecdsa.PrivateKey, t time.Time) string {
	step := credential.StepOf(t)
	sig, err := credential.SignStep(dev, f.v2Card.CardID, step, rand.Reader)
	if err != nil {
		f.t.Fatal(err)
	}
	return credential.CardCodeV2(f.v2Signed, step, sig)
}

// list signs a status list issued at at.
func (f *fixture) list(l statuslist.List, at time.Time) []byte {
	l.KeyID, l.IssuedAt = f.kid, at
	b, err := statuslist.Sign(f.priv, &l)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func TestDecide(t *testing.T) {
	f := newFixture(t)
	keys, err := ParseKeys(f.keysJSON)
	if err != nil {
		t.Fatal(err)
	}
	empty, err := LoadStatus(keys, f.list(statuslist.List{Seq: 4}, t0.Add(-time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	with := func(l statuslist.List) *statuslist.List {
		s, err := LoadStatus(keys, f.list(l, t0.Add(-time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	freshAt := func(at time.Time) *statuslist.List {
		s, err := LoadStatus(keys, f.list(statuslist.List{Seq: 4}, at))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	copied, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherIssuer := newFixture(t)
	live := f.v2Code(f.device, t0)
	tests := []struct {
		name      string
		status    *statuslist.List
		code      string
		now       time.Time
		want      string
		fresh     bool
		unchecked string
	}{
		{"v2 live", empty, live, t0, ResultValid, true, ""},
		{"v2 from the previous step", empty, live, t0.Add(30 * time.Second), ResultValid, true, ""},
		{"v2 screenshot two minutes old", empty, live, t0.Add(2 * time.Minute), ResultStale, false, ""},
		{"v2 minted by a copy without the key", empty, f.v2Code(copied, t0), t0, ResultInvalid, false, ""},
		{"v2 revoked card", with(statuslist.List{Seq: 4, Revoked: [][16]byte{id(0xa0)}}), live, t0, ResultRevoked, false, ""},
		{"v2 suspended member", with(statuslist.List{Seq: 4, Suspended: [][16]byte{id(0xa0)}}), live, t0, ResultSuspended, false, ""},
		{"data older than 15 minutes", empty, f.v2Code(f.device, t0.Add(16*time.Minute)), t0.Add(16 * time.Minute), ResultDataTooOld, false, ""},
		{"no status list", nil, live, t0, ResultDataTooOld, false, ""},
		{"v2 expired card", empty, f.v2Code(f.device, t0.AddDate(2, 0, 0)), t0.AddDate(2, 0, 0), ResultDataTooOld, false, ""},
		{"v2 unknown issuer", empty, otherIssuer.v2Code(otherIssuer.device, t0), t0, ResultUnknownKey, false, ""},
		{"v1 card", empty, f.v1Code, t0, ResultFreshnessUnknown, false, uncheckedFreshness},
		{"v1 card revoked", with(statuslist.List{Seq: 4, Revoked: [][16]byte{id(0xc0)}}), f.v1Code, t0, ResultRevoked, false, uncheckedFreshness},
		{"guest pass", empty, f.guest, t0, ResultValid, false, uncheckedUses},
		{"guest pass cancelled", with(statuslist.List{Seq: 4, Cancelled: [][16]byte{id(0xb0)}}), f.guest, t0, ResultRevoked, false, uncheckedUses},
		{"guest pass of a suspended host", with(statuslist.List{Seq: 4, Suspended: [][16]byte{id(0xc0)}}), f.guest, t0, ResultSuspended, false, uncheckedUses},
		{"guest pass expired", freshAt(t0.Add(time.Hour)), f.guest, t0.Add(time.Hour), ResultExpired, false, uncheckedUses},
		{"garbage", empty, "AP2:Cxyz", t0, ResultInvalid, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Decide(keys, tt.status, tt.code, tt.now, Options{})
			if v.Result != tt.want || v.FreshnessChecked != tt.fresh || !v.Offline {
				t.Fatalf("verdict %+v, want %s (fresh %v)", v, tt.want, tt.fresh)
			}
			if tt.unchecked != "" && !slices.Contains(v.Unchecked, tt.unchecked) {
				t.Errorf("unchecked %v lacks %q", v.Unchecked, tt.unchecked)
			}
			if !slices.Contains(v.Unchecked, uncheckedReplay) {
				t.Errorf("unchecked %v lacks replays", v.Unchecked)
			}
		})
	}
	// The expired card case above is refused for its old data first; with
	// fresh data it is expired.
	later := t0.AddDate(2, 0, 0)
	fresh, _ := LoadStatus(keys, f.list(statuslist.List{Seq: 4}, later))
	if v := Decide(keys, fresh, f.v2Code(f.device, later), later, Options{}); v.Result != ResultExpired {
		t.Errorf("expired card with fresh data: %+v", v)
	}
	if v := Decide(keys, empty, live, t0.Add(2*time.Minute), Options{}); v.OffsetSeconds == nil || *v.OffsetSeconds != -120 {
		t.Errorf("stale offset %+v", v.OffsetSeconds)
	}
	if v := Decide(keys, empty, live, t0.Add(20*time.Minute), Options{MaxAge: time.Hour, StepWindow: 60}); v.Result != ResultValid {
		t.Errorf("a partner's own limits: %+v", v)
	}
}

// TestLoadStatusDeltas: a revocation that arrives in a delta is refused;
// a delta that does not continue the list, or a list signed by another
// key, is not used.
func TestLoadStatusDeltas(t *testing.T) {
	f := newFixture(t)
	keys, _ := ParseKeys(f.keysJSON)
	full := f.list(statuslist.List{Seq: 4}, t0.Add(-10*time.Minute))
	delta := f.list(statuslist.List{Delta: true, Since: 4, Seq: 6, Revoked: [][16]byte{id(0xa0)}}, t0.Add(-time.Minute))
	st, err := LoadStatus(keys, full, delta)
	if err != nil {
		t.Fatal(err)
	}
	if v := Decide(keys, st, f.v2Code(f.device, t0), t0, Options{}); v.Result != ResultRevoked || v.StatusSeq != 6 || v.DataAgeSeconds != 60 {
		t.Fatalf("after delta: %+v", v)
	}
	gap := f.list(statuslist.List{Delta: true, Since: 5, Seq: 6}, t0)
	if _, err := LoadStatus(keys, full, gap); err == nil {
		t.Error("a delta with a gap was applied")
	}
	other := newFixture(t)
	if _, err := LoadStatus(keys, other.list(statuslist.List{Seq: 9}, t0)); err == nil {
		t.Error("a list signed by another issuer was accepted")
	}
	if _, err := LoadStatus(keys, delta); err == nil {
		t.Error("a delta alone was accepted as the base")
	}
}

func TestParseKeysSkipsWrongKid(t *testing.T) {
	f := newFixture(t)
	var set map[string][]map[string]string
	_ = json.Unmarshal(f.keysJSON, &set)
	set["keys"][0]["kid"] = "0000000000000000"
	b, _ := json.Marshal(set)
	if _, err := ParseKeys(b); err == nil {
		t.Error("a key whose kid is not its id was used")
	}
}

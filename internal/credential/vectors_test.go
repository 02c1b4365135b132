package credential

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// formatDoc is the partner-facing specification whose test vectors this
// test checks, so the document cannot drift from the code.
const formatDoc = "../../docs/credential-format.md"

// vectorsMarker precedes the fenced block of test vectors in formatDoc.
const vectorsMarker = "<!-- test-vectors: checked by internal/credential/vectors_test.go -->"

// vectorLine is one "name value" line of the test vector block.
type vectorLine struct{ name, value string }

// vectorTOTPTimes are the times at which the document lists TOTP values and
// card codes: RFC 6238's own times, then around the reference time.
func vectorTOTPTimes() []time.Time {
	ts := []time.Time{}
	for _, u := range []int64{59, 1111111109, 1111111111, 1234567890, 2000000000, 20000000000} {
		ts = append(ts, time.Unix(u, 0).UTC())
	}
	for _, d := range []time.Duration{0, 29 * time.Second, 30 * time.Second, 90 * time.Second} {
		ts = append(ts, vectorTime.Add(d))
	}
	return ts
}

// computeVectors produces the test vectors from the code.
func computeVectors(t *testing.T) []vectorLine {
	t.Helper()
	priv := vectorKey()
	pub := pubOf(priv)
	card, guest := vectorCard(), vectorGuest()
	signedPart := mustSignCard(t, card)
	guestCode := mustSignGuest(t, guest)
	pc, err := Parse(CardCode(signedPart, "000000"))
	if err != nil {
		t.Fatal(err)
	}
	pg, err := Parse(guestCode)
	if err != nil {
		t.Fatal(err)
	}
	rfc := func(tm time.Time) string { return tm.UTC().Format(time.RFC3339) }
	secret := vectorTOTPSecret()
	cardAtVector := CardCode(signedPart, TOTP(secret, vectorTime))

	v := []vectorLine{
		{"ed25519_seed", hex.EncodeToString(vectorSeed())},
		{"ed25519_public_key", hex.EncodeToString(pub)},
		{"kid", KeyIDString(KeyIDOf(pub))},
		{"totp_secret_ascii", string(secret)},
		{"totp_secret_base32", TOTPSecretBase32(secret)},
		{"card.card_id", hex.EncodeToString(card.CardID[:])},
		{"card.issued_at", rfc(card.IssuedAt)},
		{"card.expires_at", rfc(card.ExpiresAt)},
		{"card.companions", strconv.Itoa(int(card.Companions))},
		{"card.tier", card.Tier},
		{"card.message", hex.EncodeToString(pc.message())},
		{"card.signature", hex.EncodeToString(pc.signature())},
		{"card.signed_part", signedPart},
	}
	for _, tm := range vectorTOTPTimes() {
		v = append(v, vectorLine{"totp@" + rfc(tm), TOTP(secret, tm)})
	}
	for _, tm := range vectorTOTPTimes()[6:] {
		v = append(v, vectorLine{"card.code@" + rfc(tm), CardCode(signedPart, TOTP(secret, tm))})
	}
	v = append(v,
		vectorLine{"card.code_length", strconv.Itoa(len(cardAtVector))},
		vectorLine{"card.qr_version_m", strconv.Itoa(qrVersionM(t, cardAtVector))},
		vectorLine{"guest.pass_id", hex.EncodeToString(guest.PassID[:])},
		vectorLine{"guest.host_card_id", hex.EncodeToString(guest.HostCardID[:])},
		vectorLine{"guest.valid_from", rfc(guest.ValidFrom)},
		vectorLine{"guest.valid_until", rfc(guest.ValidUntil)},
		vectorLine{"guest.max_uses", strconv.Itoa(int(guest.MaxUses))},
		vectorLine{"guest.party_size", strconv.Itoa(int(guest.PartySize))},
		vectorLine{"guest.message", hex.EncodeToString(pg.message())},
		vectorLine{"guest.signature", hex.EncodeToString(pg.signature())},
		vectorLine{"guest.code", guestCode},
		vectorLine{"guest.code_length", strconv.Itoa(len(guestCode))},
		vectorLine{"guest.qr_version_m", strconv.Itoa(qrVersionM(t, guestCode))},
	)
	return v
}

// readDocVectors extracts the "name value" lines of the fenced block that
// follows vectorsMarker in the document. The value is the rest of the line
// after the run of spaces; values never start or end with a space.
func readDocVectors(path string) ([]vectorLine, error) {
	return readDocVectorsAfter(path, vectorsMarker)
}

// readDocVectorsAfter reads the vector block that follows marker.
func readDocVectorsAfter(path, marker string) ([]vectorLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open format doc: %w", err)
	}
	defer f.Close()
	var lines []vectorLine
	state := 0 // 0 before marker, 1 before fence, 2 inside block
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case state == 0 && strings.TrimSpace(line) == marker:
			state = 1
		case state == 1 && strings.HasPrefix(line, "```"):
			state = 2
		case state == 2 && strings.HasPrefix(line, "```"):
			return lines, nil
		case state == 2 && strings.TrimSpace(line) != "":
			name, rest, _ := strings.Cut(line, " ")
			lines = append(lines, vectorLine{name, strings.TrimLeft(rest, " ")})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read format doc: %w", err)
	}
	return nil, fmt.Errorf("format doc: no complete vector block after %q", marker)
}

func TestFormatDocVectors(t *testing.T) {
	want := computeVectors(t)
	var block strings.Builder
	for _, l := range want {
		fmt.Fprintf(&block, "%-36s %s\n", l.name, l.value)
	}
	got, err := readDocVectors(formatDoc)
	if err != nil {
		t.Fatalf("%v\nexpected block:\n%s", err, block.String())
	}
	wantByName := map[string]string{}
	for _, l := range want {
		wantByName[l.name] = l.value
	}
	seen := map[string]bool{}
	for _, l := range got {
		w, ok := wantByName[l.name]
		switch {
		case !ok:
			t.Errorf("doc lists unknown vector %q", l.name)
		case seen[l.name]:
			t.Errorf("doc lists vector %q twice", l.name)
		case l.value != w:
			t.Errorf("doc vector %s:\n got %q\nwant %q", l.name, l.value, w)
		}
		seen[l.name] = true
	}
	for _, l := range want {
		if !seen[l.name] {
			t.Errorf("doc lacks vector %q", l.name)
		}
	}
	if t.Failed() {
		t.Logf("expected block:\n%s", block.String())
	}
}

func TestDocVectorsParseAndVerify(t *testing.T) {
	// Independent of computeVectors: what the document says must verify.
	got, err := readDocVectors(formatDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := map[string]string{}
	for _, l := range got {
		doc[l.name] = l.value
	}
	pubBytes, err := hex.DecodeString(doc["ed25519_public_key"])
	if err != nil {
		t.Fatal(err)
	}
	for name, code := range doc {
		if !strings.HasPrefix(name, "card.code@") && name != "guest.code" {
			continue
		}
		p, err := Parse(code)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !p.VerifySignature(pubBytes) || KeyIDString(p.KeyID) != doc["kid"] {
			t.Errorf("%s does not verify with the documented key", name)
		}
		if at, ok := strings.CutPrefix(name, "card.code@"); ok {
			tm, err := time.Parse(time.RFC3339, at)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := MatchTOTP([]byte(doc["totp_secret_ascii"]), p.TOTP, tm, 0, 0); !ok {
				t.Errorf("%s: TOTP %s does not match at that time", name, p.TOTP)
			}
		}
	}
}

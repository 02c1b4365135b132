package credential

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"testing/iotest"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

func TestTOTPRFC6238Vectors(t *testing.T) {
	// RFC 6238 appendix B, SHA1 rows; 6 digits are the last 6 of the 8 listed.
	tests := []struct {
		unix int64
		want string
	}{
		{59, "287082"},
		{1111111109, "081804"},
		{1111111111, "050471"},
		{1234567890, "005924"},
		{2000000000, "279037"},
		{20000000000, "353130"},
	}
	for _, tt := range tests {
		if got := TOTP(vectorTOTPSecret(), time.Unix(tt.unix, 0)); got != tt.want {
			t.Errorf("TOTP at %d = %s, want %s", tt.unix, got, tt.want)
		}
	}
}

func TestTOTPMatchesPquernaOTP(t *testing.T) {
	rng := rand.New(rand.NewPCG(6238, 4226))
	opts := totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	// Lengths around the SHA-1 block size exercise the long-key path of HMAC.
	lengths := []int{1, 10, 16, 20, 32, 63, 64, 65, 100}
	for i := range 2000 {
		secret := make([]byte, lengths[i%len(lengths)])
		for j := range secret {
			secret[j] = byte(rng.Uint32())
		}
		at := time.Unix(rng.Int64N(1<<34), rng.Int64N(int64(time.Second)))
		if i%10 == 0 { // step boundaries
			at = time.Unix(rng.Int64N(1<<28)*30+int64(i%3)-1, 0)
		}
		want, err := totp.GenerateCodeCustom(TOTPSecretBase32(secret), at, opts)
		if err != nil {
			t.Fatalf("pquerna: %v", err)
		}
		if got := TOTP(secret, at); got != want {
			t.Fatalf("secret %x at %v: TOTP = %s, pquerna = %s", secret, at, got, want)
		}
	}
}

func TestMatchTOTP(t *testing.T) {
	secret := vectorTOTPSecret()
	now := vectorTime.Add(10 * time.Second)
	codeAt := func(steps int) string { return TOTP(secret, now.Add(time.Duration(steps)*TOTPPeriod)) }
	tests := []struct {
		name           string
		code           string
		window, search int
		wantOffset     int
		wantOK         bool
		wantFound      bool
	}{
		{"current step", codeAt(0), 1, 10, 0, true, true},
		{"previous step", codeAt(-1), 1, 10, -1, true, true},
		{"next step", codeAt(1), 1, 10, 1, true, true},
		{"two steps old: stale, 1 min", codeAt(-2), 1, 10, -2, false, true},
		{"phone 4 minutes ahead", codeAt(8), 1, 10, 8, false, true},
		{"edge of search", codeAt(-10), 1, 10, -10, false, true},
		{"beyond search", codeAt(-11), 1, 10, 0, false, false},
		{"window zero refuses previous", codeAt(-1), 0, 0, 0, false, false},
		{"window zero reports previous", codeAt(-1), 0, 1, -1, false, true},
		{"search below window widened", codeAt(2), 2, 0, 2, true, true},
		{"negative window", codeAt(0), -5, -5, 0, true, true},
		{"not digits", "12345a", 1, 10, 0, false, false},
		{"too short", "12345", 1, 10, 0, false, false},
		{"too long", codeAt(0) + "0", 1, 10, 0, false, false},
		{"empty", "", 1, 10, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			off, ok, found := MatchTOTP(secret, tt.code, now, tt.window, tt.search)
			if off != tt.wantOffset || ok != tt.wantOK || found != tt.wantFound {
				t.Errorf("MatchTOTP(%q, %d, %d) = %d, %v, %v; want %d, %v, %v",
					tt.code, tt.window, tt.search, off, ok, found, tt.wantOffset, tt.wantOK, tt.wantFound)
			}
		})
	}
	t.Run("empty secret never matches", func(t *testing.T) {
		if _, ok, found := MatchTOTP(nil, TOTP(nil, now), now, 1, 10); ok || found {
			t.Error("matched")
		}
	})
	t.Run("search is capped", func(t *testing.T) {
		far := TOTP(secret, now.Add(-(MaxTOTPSearch+1)*TOTPPeriod))
		if off, _, found := MatchTOTP(secret, far, now, 1, 1<<30); found && off == -(MaxTOTPSearch+1) {
			t.Error("search went beyond MaxTOTPSearch")
		}
	})
}

func TestNewTOTPSecret(t *testing.T) {
	secret, err := NewTOTPSecret(bytes.NewReader(bytes.Repeat([]byte{7}, 64)))
	if err != nil || !bytes.Equal(secret, bytes.Repeat([]byte{7}, TOTPSecretSize)) {
		t.Fatalf("NewTOTPSecret = %x, %v", secret, err)
	}
	if a, err := NewTOTPSecret(nil); err != nil || len(a) != TOTPSecretSize {
		t.Fatalf("NewTOTPSecret(nil) = %x, %v", a, err)
	}
	if _, err := NewTOTPSecret(bytes.NewReader(make([]byte, 19))); err == nil {
		t.Error("short reader accepted")
	}
	boom := errors.New("boom")
	if _, err := NewTOTPSecret(iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Errorf("reader error not wrapped: %v", err)
	}
}

func TestTOTPSecretBase32(t *testing.T) {
	if got, want := TOTPSecretBase32(vectorTOTPSecret()), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"; got != want {
		t.Errorf("base32 = %q, want %q", got, want)
	}
	if got := TOTPSecretBase32([]byte{0xff}); got != "74" {
		t.Errorf("base32 of one byte = %q, want unpadded %q", got, "74")
	}
}

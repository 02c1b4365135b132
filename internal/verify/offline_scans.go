package verify

import (
	"context"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
)

// MaxOfflineAge is how old an uploaded offline scan may be. Older ones are
// judged as of this far back: their claims on the code are long gone, so a
// replay could no longer be told apart.
const MaxOfflineAge = 24 * time.Hour

// VerifyOffline records a scan that a scanner decided without the server at
// scannedAt and uploaded later. It is decided again as the server would
// have decided it then (a time in the future is now; one older than
// MaxOfflineAge is that old) and written to the verification log with the
// note "offline scan", so that HR and the partner see it; a code already
// used at another venue around that time answers replayed, with when and
// where, as an online scan would.
func (v *Verifier) VerifyOffline(ctx context.Context, p *model.Principal, code string, scannedAt time.Time) (*Decision, error) {
	now := v.now()
	at := scannedAt
	switch {
	case at.IsZero() || at.After(now):
		at = now
	case at.Before(now.Add(-MaxOfflineAge)):
		at = now.Add(-MaxOfflineAge)
	}
	return v.verifyAt(ctx, p, code, at, "offline scan")
}

package statusfeed_test

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/credential"
	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/statusfeed"
	"github.com/alumnipass/alumnipass/internal/statuslist"
	"github.com/alumnipass/alumnipass/internal/store"
	"github.com/alumnipass/alumnipass/internal/store/storetest"
)

type testSigner struct{ priv ed25519.PrivateKey }

func (s testSigner) Signer() ([8]byte, string, ed25519.PrivateKey) {
	id := credential.KeyIDOf(s.priv.Public().(ed25519.PublicKey))
	return id, credential.KeyIDString(id), s.priv
}

func newSigner() testSigner {
	seed := make([]byte, ed25519.SeedSize)
	return testSigner{ed25519.NewKeyFromSeed(seed)}
}

// BenchmarkFeedFull1M measures the full status list of an issuer with
// 1,000,000 listed cards on PostgreSQL: cold (read, sort, sign) and warm
// (the same sequence number: only signed again), with the list's size.
func BenchmarkFeedFull1M(b *testing.B) {
	ctx := context.Background()
	s := storetest.Open(b, store.Postgres)
	const q = `
		INSERT INTO status_changes (subject_id, subject_kind, status, seq, changed_at, expires_at)
		SELECT gen_random_uuid()::text, 'card', 'revoked', 2, now(), now() + interval '1 year'
		FROM generate_series(1, 1000000)`
	if _, err := s.DB().ExecContext(ctx, q); err != nil {
		b.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, `UPDATE status_list_head SET seq = 2; ANALYZE status_changes`); err != nil {
		b.Fatal(err)
	}
	sign := newSigner()
	var size int
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			out, err := statusfeed.New(s, sign, nil).Full(ctx)
			if err != nil {
				b.Fatal(err)
			}
			size = len(out)
		}
		b.ReportMetric(float64(size), "bytes/list")
	})
	feed := statusfeed.New(s, sign, nil)
	if _, err := feed.Full(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run("warm", func(b *testing.B) {
		for b.Loop() {
			if _, err := feed.Full(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("after-one-change", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			const one = `
				WITH h AS (UPDATE status_list_head SET seq = seq + 1 RETURNING seq)
				INSERT INTO status_changes (subject_id, subject_kind, status, seq, changed_at, expires_at)
				SELECT gen_random_uuid()::text, 'card', 'revoked', h.seq, now(), now() + interval '1 year' FROM h`
			if _, err := s.DB().ExecContext(ctx, one); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := feed.Full(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("delta", func(b *testing.B) {
		for b.Loop() {
			out, err := feed.Delta(ctx, 2)
			if err != nil {
				b.Fatal(err)
			}
			size = len(out)
		}
		b.ReportMetric(float64(size), "bytes/list")
	})
}

// TestFeedFullAndDelta: the feed publishes what the store records, signed;
// a delta since the full list's number carries a later revocation; a
// number ahead of the list is refused.
func TestFeedFullAndDelta(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		sign := newSigner()
		feed := statusfeed.New(s, sign, func() time.Time { return now })
		full, err := feed.Full(ctx)
		if err != nil {
			t.Fatal(err)
		}
		l, err := statuslist.Parse(full)
		if err != nil || !l.VerifySignature(sign.priv.Public().(ed25519.PublicKey)) || l.Delta || len(l.Revoked) != 0 {
			t.Fatalf("empty full list: %+v %v", l, err)
		}
		cardID := revokedCard(t, s, now)
		d, err := feed.Delta(ctx, int64(l.Seq))
		if err != nil {
			t.Fatal(err)
		}
		dl, err := statuslist.Parse(d)
		if err != nil || !dl.Delta || dl.Since != l.Seq || dl.Seq != l.Seq+1 || len(dl.Revoked) != 1 {
			t.Fatalf("delta %+v %v", dl, err)
		}
		merged, err := l.Apply(dl)
		if err != nil || merged.StatusOf([16]byte(uuid.MustParse(cardID))) != statuslist.Revoked {
			t.Fatalf("merged %v", err)
		}
		// The cached full list follows the change (applied, not re-read).
		full2, err := feed.Full(ctx)
		if err != nil {
			t.Fatal(err)
		}
		l2, err := statuslist.Parse(full2)
		if err != nil || l2.Seq != dl.Seq || l2.StatusOf([16]byte(uuid.MustParse(cardID))) != statuslist.Revoked {
			t.Fatalf("full list after the change: %+v %v", l2, err)
		}
		if _, err := feed.Delta(ctx, int64(dl.Seq)+5); err == nil {
			t.Fatal("a since ahead of the list was answered")
		}
	})
}

// revokedCard issues a card and revokes it through the store's own methods.
func revokedCard(t *testing.T, s *store.Store, now time.Time) string {
	t.Helper()
	ctx := context.Background()
	kid := "k" + uuid.NewString()[:8]
	storetest.Must(t, s.AddSigningKey(ctx, &model.SigningKey{KeyID: kid, PublicKey: []byte{1}, PrivateKeyEnc: []byte{1}, Status: model.KeyActive, CreatedAt: now}))
	m := &model.Member{ID: uuid.NewString(), EmployeeNo: "F1", FamilyName: "a", GivenName: "b", Email: "f1@example.com",
		Tier: "standard", DepartedOn: "2024-03-31", Locale: "ja", Status: model.MemberActive, CreatedAt: now, UpdatedAt: now}
	storetest.Must(t, s.CreateMember(ctx, m))
	c := &model.Card{ID: uuid.NewString(), MemberID: m.ID, Status: model.CardActive, KeyID: kid, SignedPart: "x",
		TOTPSecretEnc: []byte{1}, Companions: 1, IssuedAt: now, ExpiresAt: now.Add(time.Hour),
		EnrollTokenHash: uuid.NewString(), EnrollExpiresAt: now.Add(time.Hour)}
	storetest.Must(t, s.InTx(ctx, func(tx *store.Tx) error { return tx.IssueCard(ctx, c, "", now) }))
	storetest.Must(t, s.RevokeCard(ctx, c.ID, now))
	return c.ID
}

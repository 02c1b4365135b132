package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/alumnipass/alumnipass/internal/credential"
	"github.com/alumnipass/alumnipass/internal/seal"
)

// importChunk is the number of members per CSV import in the bulk setup:
// under the importer's row limit (csvimport.DefaultMaxRows) and the body
// limit of the default configuration.
const importChunk = 100_000

// setupBulk makes a large population fast: the members through the real
// import path (one CSV of importChunk members per call), then one card per
// member, signed with the server's active key and sealed with the master
// key exactly as members.IssueCard does, already enrolled (as
// wallet.Enroll leaves it), written by one COPY. The audit entries of issue
// and enrolment are not written: nothing on the verify or redemption path
// reads them. One HTTP call per card would take hours at 1,000,000.
func (b *bench) setupBulk(ctx context.Context, a *api, fx *fixture, dbURL string) error {
	start := time.Now()
	for from := 0; from < b.opt.members; from += importChunk {
		n := min(importChunk, b.opt.members-from)
		var rep importReport
		if err := a.call(ctx, "POST", "/api/v1/members/import", fx.hrToken, memberCSV(fmt.Sprintf("B%03d", from/importChunk), n), &rep); err != nil {
			return fmt.Errorf("import chunk at %d: %w", from, err)
		}
		if rep.Created != n {
			return fmt.Errorf("import chunk at %d created %d members of %d", from, rep.Created, n)
		}
	}
	fx.importTook, start = time.Since(start), time.Now()
	b.logf("imported %d members in %s; issuing and enrolling their cards in bulk", b.opt.members, fx.importTook.Round(100*time.Millisecond))
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	wallets, err := bulkCards(ctx, db, len(fx.keys))
	if err != nil {
		return err
	}
	if len(wallets) != b.opt.members {
		return fmt.Errorf("bulk cards: %d active members, expected %d", len(wallets), b.opt.members)
	}
	fx.wallets, fx.issueTook, fx.bulk = wallets, time.Since(start), true
	return nil
}

// bulkCards issues and enrols one card per active member.
func bulkCards(ctx context.Context, db *sql.DB, keys int) ([]*wallet, error) {
	sealer, err := seal.New(mustHex(benchMasterKey))
	if err != nil {
		return nil, err
	}
	var kid string
	var privEnc []byte
	if err := db.QueryRowContext(ctx, `SELECT kid, private_key_enc FROM signing_keys WHERE status = 'active' ORDER BY created_at DESC LIMIT 1`).Scan(&kid, &privEnc); err != nil {
		return nil, fmt.Errorf("active signing key: %w", err)
	}
	seed, err := sealer.Open(privEnc, "signing-key:"+kid)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", kid, err)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	keyID, err := credential.ParseKeyID(kid)
	if err != nil {
		return nil, err
	}
	type member struct{ id, tier string }
	rows, err := db.QueryContext(ctx, `SELECT id, tier FROM members WHERE status = 'active' ORDER BY id`)
	if err != nil {
		return nil, err
	}
	var ms []member
	for rows.Next() {
		var m member
		if err := rows.Scan(&m.id, &m.tier); err != nil {
			rows.Close()
			return nil, err
		}
		ms = append(ms, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	now := time.Now()
	issued, expires := now.Truncate(time.Second), now.Add(3*365*24*time.Hour).Truncate(time.Second)
	type row struct {
		w                  *wallet
		enc                []byte
		enrollH, walletH   string
		signErr, sealError error
	}
	out := make([]row, len(ms))
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < len(ms); i += workers {
				id := uuid.New()
				secret, err := credential.NewTOTPSecret(rand.Reader)
				if err != nil {
					out[i].signErr = err
					continue
				}
				signed, err := credential.SignCard(priv, credential.Card{KeyID: keyID, CardID: id, IssuedAt: issued,
					ExpiresAt: expires, Companions: 3, Tier: ms[i].tier})
				out[i].signErr = err
				out[i].enc, out[i].sealError = sealer.Seal(secret, "card:"+id.String())
				out[i].enrollH, out[i].walletH = randomHash(), randomHash()
				out[i].w = &wallet{memberID: ms[i].id, cardID: id.String(), signedPart: signed, secret: secret, key: i % keys}
			}
		}()
	}
	wg.Wait()

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	// COPY … FROM STDIN through lib/pq's prepared-statement protocol.
	stmt, err := tx.PrepareContext(ctx, `COPY cards (id, member_id, status, kid, signed_part, totp_secret_enc,
		companions, issued_at, expires_at, enroll_token_hash, enroll_expires_at, enrolled_at, wallet_token_hash,
		consent_version, consent_at) FROM STDIN`)
	if err != nil {
		return nil, fmt.Errorf("copy cards: %w", err)
	}
	wallets := make([]*wallet, len(out))
	for i, r := range out {
		if r.signErr != nil || r.sealError != nil {
			return nil, fmt.Errorf("card of member %s: %v %v", ms[i].id, r.signErr, r.sealError)
		}
		if _, err := stmt.ExecContext(ctx, r.w.cardID, r.w.memberID, "active", kid, r.w.signedPart, r.enc, 3,
			issued, expires, r.enrollH, now.Add(14*24*time.Hour), now, r.walletH, "bench", now); err != nil {
			return nil, fmt.Errorf("copy card %d: %w", i, err)
		}
		wallets[i] = r.w
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		return nil, fmt.Errorf("copy cards: %w", err)
	}
	if err := stmt.Close(); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	// What an operator does after a bulk load: without it the load phases
	// measured autovacuum working through 1.5 GB of new rows (and the
	// first read of every page setting its hint bits) as PostgreSQL CPU.
	for _, table := range []string{"cards", "members"} {
		if _, err := db.ExecContext(ctx, "VACUUM (FREEZE, ANALYZE) "+table); err != nil {
			return nil, fmt.Errorf("vacuum %s: %w", table, err)
		}
	}
	return wallets, nil
}

func randomHash() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

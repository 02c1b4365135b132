package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/alumnipass/alumnipass/internal/model"
)

const cardColumns = `id, member_id, status, kid, signed_part, totp_secret_enc, companions, issued_at,
	expires_at, revoked_at, enroll_token_hash, enroll_expires_at, enrolled_at, wallet_token_hash,
	consent_version, consent_at`

// IssueCard revokes the member's active card and inserts the new one, as a
// compare-and-set: replaces is the active card the caller saw ("" for none).
// When the member's active cards are no longer exactly that one (another
// issue or a revocation came in between), nothing is written and the error
// is ErrConflict, so no answer hands out a card that a concurrent issue has
// already revoked. Call it in a transaction after LockMember, so that the
// check and the insert see the same cards and a member never has two active
// cards (cards_one_active_idx holds that too).
func (c *Conn) IssueCard(ctx context.Context, card *model.Card, replaces string, now time.Time) error {
	revoked, err := c.RevokeMemberCards(ctx, card.MemberID, now)
	if err != nil {
		return err
	}
	if (replaces == "" && len(revoked) != 0) || (replaces != "" && (len(revoked) != 1 || revoked[0] != replaces)) {
		return fmt.Errorf("issue card: active cards %v, expected %q: %w", revoked, replaces, model.ErrConflict)
	}
	const q = `
		INSERT INTO cards (` + cardColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, NULL, NULL, NULL, NULL)`
	_, err = c.x.ExecContext(ctx, c.q(q), card.ID, card.MemberID, string(card.Status), card.KeyID,
		card.SignedPart, card.TOTPSecretEnc, card.Companions, c.ts(card.IssuedAt), c.ts(card.ExpiresAt),
		card.EnrollTokenHash, c.ts(card.EnrollExpiresAt))
	if err != nil {
		return fmt.Errorf("insert card: %w", mapErr(err))
	}
	return c.publish(ctx, EventCard, card.ID)
}

// RevokeMemberCards revokes every active card of a member in one statement
// and returns their ids. In a transaction after LockMember it sees every
// card committed before the lock was taken, and no card can be issued
// until the transaction ends.
func (c *Conn) RevokeMemberCards(ctx context.Context, memberID string, now time.Time) ([]string, error) {
	const q = `UPDATE cards SET status = 'revoked', revoked_at = ? WHERE member_id = ? AND status = 'active' RETURNING id`
	var ids []string
	if err := c.x.SelectContext(ctx, &ids, c.q(q), c.ts(now), memberID); err != nil {
		return nil, fmt.Errorf("revoke member cards: %w", mapErr(err))
	}
	for _, id := range ids {
		if err := c.recordCardRevoked(ctx, id, now); err != nil {
			return nil, err
		}
		if err := c.publish(ctx, EventCard, id); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// RevokeCard marks a card revoked; its wallet stops working with it.
func (c *Conn) RevokeCard(ctx context.Context, id string, now time.Time) error {
	if c.tx == nil { // the status list entry commits with the revocation
		return c.s.InTx(ctx, func(tx *Tx) error { return tx.RevokeCard(ctx, id, now) })
	}
	const q = `UPDATE cards SET status = 'revoked', revoked_at = ? WHERE id = ? AND status = 'active'`
	if _, err := c.x.ExecContext(ctx, c.q(q), c.ts(now), id); err != nil {
		return fmt.Errorf("revoke card: %w", mapErr(err))
	}
	if err := c.recordCardRevoked(ctx, id, now); err != nil {
		return err
	}
	return c.publish(ctx, EventCard, id)
}

// Card returns one card.
func (c *Conn) Card(ctx context.Context, id string) (*model.Card, error) {
	return c.cardWhere(ctx, "id = ?", id)
}

// CardByEnrollToken finds the card an enrolment token belongs to.
func (c *Conn) CardByEnrollToken(ctx context.Context, hash string) (*model.Card, error) {
	return c.cardWhere(ctx, "enroll_token_hash = ?", hash)
}

// CardByWalletToken finds the card a wallet token unlocks.
func (c *Conn) CardByWalletToken(ctx context.Context, hash string) (*model.Card, error) {
	return c.cardWhere(ctx, "wallet_token_hash = ?", hash)
}

func (c *Conn) cardWhere(ctx context.Context, where string, arg any) (*model.Card, error) {
	q := `SELECT ` + cardColumns + ` FROM cards WHERE ` + where
	var card model.Card
	if err := c.x.GetContext(ctx, &card, c.q(q), arg); err != nil {
		return nil, fmt.Errorf("card: %w", mapErr(err))
	}
	return &card, nil
}

// MemberCards lists a member's cards, newest first.
func (c *Conn) MemberCards(ctx context.Context, memberID string) ([]model.Card, error) {
	const q = `SELECT ` + cardColumns + ` FROM cards WHERE member_id = ? ORDER BY issued_at DESC`
	var cards []model.Card
	if err := c.x.SelectContext(ctx, &cards, c.q(q), memberID); err != nil {
		return nil, fmt.Errorf("member cards: %w", mapErr(err))
	}
	return cards, nil
}

// Enroll binds a wallet to a card, once: the guarded update makes a second
// use of the enrolment token fail with ErrConflict.
func (c *Conn) Enroll(ctx context.Context, cardID, walletHash, consentVersion string, now time.Time) error {
	const q = `
		UPDATE cards SET enrolled_at = ?, wallet_token_hash = ?, consent_version = ?, consent_at = ?
		WHERE id = ? AND enrolled_at IS NULL AND status = 'active' AND enroll_expires_at > ?`
	res, err := c.x.ExecContext(ctx, c.q(q), c.ts(now), walletHash, consentVersion, c.ts(now), cardID, c.ts(now))
	if err != nil {
		return fmt.Errorf("enroll: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("enroll card %s: %w", cardID, model.ErrConflict)
	}
	return c.publish(ctx, EventCard, cardID)
}

// CardState is what the verifier needs to decide about a card, joined in
// one query.
type CardState struct {
	CardID       string           `db:"id"`
	MemberID     string           `db:"member_id"`
	CardStatus   model.CardStatus `db:"status"`
	SignedPart   string           `db:"signed_part"`
	SignedPartV2 string           `db:"signed_part_v2"` // set when the card is bound to a device (format 2)
	SecretEnc    []byte           `db:"totp_secret_enc"`
	Tier         string           `db:"tier"`
	MemberStatus string           `db:"member_status"`
	FamilyName   string           `db:"family_name"`
	GivenName    string           `db:"given_name"`
	Locale       string           `db:"locale"`
}

// cardStateSelect is what a scan needs of a card and its member.
const cardStateSelect = `
		SELECT c.id, c.member_id, c.status, c.signed_part, COALESCE(c.signed_part_v2, '') AS signed_part_v2, c.totp_secret_enc,
		       m.tier, m.status AS member_status, m.family_name, m.given_name, m.locale
		FROM cards c JOIN members m ON m.id = c.member_id`

// CardStates loads several cards and their members' status in one
// statement, prepared once: the cache misses of concurrent scans are read
// together (verify's card loader), so a burst of first scans costs
// PostgreSQL one plan and one round trip instead of one each. The ids go
// as one array parameter (PostgreSQL) or one JSON array (SQLite), so the
// statement is the same whatever their number. Unknown ids are left out.
func (c *Conn) CardStates(ctx context.Context, cardIDs []string) ([]CardState, error) {
	if len(cardIDs) == 0 {
		return nil, nil
	}
	where, arg := `
		WHERE c.id IN (SELECT value FROM json_each(?))`, any(nil)
	if c.s.dialect.name == Postgres {
		where, arg = `
		WHERE c.id = ANY(?::text[])`, pq.Array(cardIDs)
	} else {
		js, err := json.Marshal(cardIDs)
		if err != nil {
			return nil, fmt.Errorf("card states: %w", err)
		}
		arg = string(js)
	}
	stmt, err := c.prepared(ctx, cardStateSelect+where)
	if err != nil {
		return nil, fmt.Errorf("card states: %w", err)
	}
	var out []CardState
	if err := stmt.SelectContext(ctx, &out, arg); err != nil {
		return nil, fmt.Errorf("card states: %w", mapErr(err))
	}
	return out, nil
}

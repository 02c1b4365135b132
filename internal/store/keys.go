package store

import (
	"context"
	"fmt"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
)

// AddSigningKey stores a new signing key; when active, older active keys
// become verify-only so that exactly one key signs.
func (c *Conn) AddSigningKey(ctx context.Context, k *model.SigningKey) error {
	if k.Status == model.KeyActive {
		const qDemote = `UPDATE signing_keys SET status = 'verify' WHERE status = 'active'`
		if _, err := c.x.ExecContext(ctx, qDemote); err != nil {
			return fmt.Errorf("demote signing keys: %w", mapErr(err))
		}
	}
	const q = `
		INSERT INTO signing_keys (kid, public_key, private_key_enc, status, created_at)
		VALUES (?, ?, ?, ?, ?)`
	if _, err := c.x.ExecContext(ctx, c.q(q), k.KeyID, k.PublicKey, k.PrivateKeyEnc, k.Status, c.ts(k.CreatedAt)); err != nil {
		return fmt.Errorf("insert signing key: %w", mapErr(err))
	}
	return c.publish(ctx, EventSigningKey, k.KeyID)
}

// SigningKeys lists every key, newest first, retired ones included.
func (c *Conn) SigningKeys(ctx context.Context) ([]model.SigningKey, error) {
	const q = `SELECT kid, public_key, private_key_enc, status, created_at, retired_at FROM signing_keys ORDER BY created_at DESC`
	var ks []model.SigningKey
	if err := c.x.SelectContext(ctx, &ks, q); err != nil {
		return nil, fmt.Errorf("signing keys: %w", mapErr(err))
	}
	return ks, nil
}

// RetireSigningKey stops a verify-only key from verifying anything.
func (c *Conn) RetireSigningKey(ctx context.Context, kid string, now time.Time) error {
	const q = `UPDATE signing_keys SET status = 'retired', retired_at = ? WHERE kid = ? AND status = 'verify'`
	res, err := c.x.ExecContext(ctx, c.q(q), c.ts(now), kid)
	if err != nil {
		return fmt.Errorf("retire signing key: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("signing key %s is not a verify-only key: %w", kid, model.ErrConflict)
	}
	return c.publish(ctx, EventSigningKey, kid)
}

// RewrapSigningKey replaces the encrypted private key (master key rotation).
func (c *Conn) RewrapSigningKey(ctx context.Context, kid string, enc []byte) error {
	const q = `UPDATE signing_keys SET private_key_enc = ? WHERE kid = ?`
	if _, err := c.x.ExecContext(ctx, c.q(q), enc, kid); err != nil {
		return fmt.Errorf("rewrap signing key: %w", mapErr(err))
	}
	return nil
}

// CardSecrets lists the encrypted TOTP secrets of all cards (for rewrap).
func (c *Conn) CardSecrets(ctx context.Context) (map[string][]byte, error) {
	const q = `SELECT id, totp_secret_enc FROM cards`
	var rows []struct {
		ID  string `db:"id"`
		Enc []byte `db:"totp_secret_enc"`
	}
	if err := c.x.SelectContext(ctx, &rows, q); err != nil {
		return nil, fmt.Errorf("card secrets: %w", mapErr(err))
	}
	out := make(map[string][]byte, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Enc
	}
	return out, nil
}

// RewrapCardSecret replaces one card's encrypted TOTP secret.
func (c *Conn) RewrapCardSecret(ctx context.Context, id string, enc []byte) error {
	const q = `UPDATE cards SET totp_secret_enc = ? WHERE id = ?`
	if _, err := c.x.ExecContext(ctx, c.q(q), enc, id); err != nil {
		return fmt.Errorf("rewrap card secret: %w", mapErr(err))
	}
	return nil
}

const apiKeyColumns = `id, name, prefix, hash, role, partner_id, venue_id, created_at, last_used_at, revoked_at`

// CreateAPIKey stores a hashed API key.
func (c *Conn) CreateAPIKey(ctx context.Context, k *model.APIKey) error {
	const q = `INSERT INTO api_keys (` + apiKeyColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)`
	if _, err := c.x.ExecContext(ctx, c.q(q), k.ID, k.Name, k.Prefix, k.Hash, k.Role, k.PartnerID, k.VenueID, c.ts(k.CreatedAt)); err != nil {
		return fmt.Errorf("insert api key: %w", mapErr(err))
	}
	return nil
}

// APIKeyByHash finds a key by the hash of the presented token. A key of a
// deactivated partner or a closed venue reads as revoked (since then),
// whatever issued it, so Bearer refuses it like a revoked key.
func (c *Conn) APIKeyByHash(ctx context.Context, hash string) (*model.APIKey, error) {
	const q = `
		SELECT k.id, k.name, k.prefix, k.hash, k.role, k.partner_id, k.venue_id, k.created_at, k.last_used_at, k.revoked_at,
		       p.deactivated_at AS partner_deactivated_at, v.closed_at AS venue_closed_at
		FROM api_keys k
		LEFT JOIN partners p ON p.id = k.partner_id
		LEFT JOIN venues v ON v.id = k.venue_id
		WHERE k.hash = ?`
	var k struct {
		model.APIKey
		PartnerDeactivatedAt *time.Time `db:"partner_deactivated_at"`
		VenueClosedAt        *time.Time `db:"venue_closed_at"`
	}
	if err := c.x.GetContext(ctx, &k, c.q(q), hash); err != nil {
		return nil, fmt.Errorf("api key: %w", mapErr(err))
	}
	for _, t := range []*time.Time{k.PartnerDeactivatedAt, k.VenueClosedAt} {
		if k.RevokedAt == nil {
			k.RevokedAt = t
		}
	}
	return &k.APIKey, nil
}

// PartnerAPIKeys lists a partner's keys.
func (c *Conn) PartnerAPIKeys(ctx context.Context, partnerID string) ([]model.APIKey, error) {
	const q = `SELECT ` + apiKeyColumns + ` FROM api_keys WHERE partner_id = ? ORDER BY created_at DESC`
	var ks []model.APIKey
	if err := c.x.SelectContext(ctx, &ks, c.q(q), partnerID); err != nil {
		return nil, fmt.Errorf("partner api keys: %w", mapErr(err))
	}
	return ks, nil
}

// RevokeAPIKey revokes a key, within a partner when partnerID is set.
func (c *Conn) RevokeAPIKey(ctx context.Context, id string, now time.Time) error {
	const q = `UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`
	res, err := c.x.ExecContext(ctx, c.q(q), c.ts(now), id)
	if err != nil {
		return fmt.Errorf("revoke api key: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("api key %s: %w", id, model.ErrNotFound)
	}
	return c.publish(ctx, EventAPIKey, id)
}

// TouchAPIKeys records when keys were last used (batched by the caller).
func (c *Conn) TouchAPIKeys(ctx context.Context, used map[string]time.Time) error {
	const q = `UPDATE api_keys SET last_used_at = ? WHERE id = ?`
	for id, at := range used {
		if _, err := c.x.ExecContext(ctx, c.q(q), c.ts(at), id); err != nil {
			return fmt.Errorf("touch api key: %w", mapErr(err))
		}
	}
	return nil
}

// CreatePairingCode stores a one-use device pairing code (hashed).
func (c *Conn) CreatePairingCode(ctx context.Context, hash, venueID, name string, expires, now time.Time) error {
	const q = `INSERT INTO pairing_codes (code_hash, venue_id, name, expires_at, created_at) VALUES (?, ?, ?, ?, ?)`
	if _, err := c.x.ExecContext(ctx, c.q(q), hash, venueID, name, c.ts(expires), c.ts(now)); err != nil {
		return fmt.Errorf("insert pairing code: %w", mapErr(err))
	}
	return nil
}

// UsePairingCode consumes a pairing code once and returns its venue and name.
func (c *Conn) UsePairingCode(ctx context.Context, hash string, now time.Time) (venueID, name string, err error) {
	const q = `UPDATE pairing_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?`
	res, err := c.x.ExecContext(ctx, c.q(q), c.ts(now), hash, c.ts(now))
	if err != nil {
		return "", "", fmt.Errorf("use pairing code: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return "", "", fmt.Errorf("pairing code: %w", model.ErrNotFound)
	}
	var row struct {
		VenueID string `db:"venue_id"`
		Name    string `db:"name"`
	}
	const qGet = `SELECT venue_id, name FROM pairing_codes WHERE code_hash = ?`
	if err := c.x.GetContext(ctx, &row, c.q(qGet), hash); err != nil {
		return "", "", fmt.Errorf("pairing code: %w", mapErr(err))
	}
	return row.VenueID, row.Name, nil
}

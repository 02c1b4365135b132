package store

import (
	"context"
	"fmt"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
)

// OIDCClient is a partner website registered with the OpenID Provider.
type OIDCClient struct {
	ID           string     `db:"id"`
	PartnerID    string     `db:"partner_id"`
	PartnerName  string     `db:"partner_name"`
	Name         string     `db:"name"`
	RedirectURIs string     `db:"redirect_uris"` // one per line
	LogoURL      string     `db:"logo_url"`
	SecretHash   string     `db:"secret_hash"`
	CreatedAt    time.Time  `db:"created_at"`
	RevokedAt    *time.Time `db:"revoked_at"`
	// PartnerDeactivatedAt is the partner's: its clients stop with it.
	PartnerDeactivatedAt *time.Time `db:"partner_deactivated_at"`
}

// OIDCAuthRequest is one authorization request, from /oidc/authorize until
// its code has been exchanged.
type OIDCAuthRequest struct {
	ID                  string     `db:"id"`
	ClientID            string     `db:"client_id"`
	RedirectURI         string     `db:"redirect_uri"`
	Scopes              string     `db:"scopes"`
	State               string     `db:"state"`
	Nonce               string     `db:"nonce"`
	ResponseMode        string     `db:"response_mode"`
	CodeChallenge       string     `db:"code_challenge"`
	CodeChallengeMethod string     `db:"code_challenge_method"`
	MemberID            *string    `db:"member_id"`
	Subject             string     `db:"subject"`
	ShareProfile        bool       `db:"share_profile"`
	AuthTime            *time.Time `db:"auth_time"`
	CodeUsedAt          *time.Time `db:"code_used_at"`
	CreatedAt           time.Time  `db:"created_at"`
	ExpiresAt           time.Time  `db:"expires_at"`
	// UserCode is set when the sign-in is finished on another device: the
	// code the member confirms in the wallet. BrowserHash binds the
	// browser that shows it (the hash of its cookie).
	UserCode    *string `db:"user_code"`
	BrowserHash *string `db:"browser_hash"`
}

// OIDCAccessToken is an issued access token, stored by the hash of its id.
type OIDCAccessToken struct {
	IDHash        string     `db:"id_hash"`
	AuthRequestID string     `db:"auth_request_id"`
	ClientID      string     `db:"client_id"`
	MemberID      string     `db:"member_id"`
	Subject       string     `db:"subject"`
	Scopes        string     `db:"scopes"`
	ShareProfile  bool       `db:"share_profile"`
	CreatedAt     time.Time  `db:"created_at"`
	ExpiresAt     time.Time  `db:"expires_at"`
	RevokedAt     *time.Time `db:"revoked_at"`
}

// CreateOIDCClient inserts a client.
func (c *Conn) CreateOIDCClient(ctx context.Context, cl *OIDCClient) error {
	const q = `
		INSERT INTO oidc_clients (id, partner_id, name, redirect_uris, logo_url, secret_hash, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`
	if _, err := c.x.ExecContext(ctx, c.q(q), cl.ID, cl.PartnerID, cl.Name, cl.RedirectURIs, cl.LogoURL, cl.SecretHash, c.ts(cl.CreatedAt)); err != nil {
		return fmt.Errorf("insert oidc client: %w", mapErr(err))
	}
	return nil
}

const oidcClientColumns = `
	c.id, c.partner_id, p.name AS partner_name, c.name, c.redirect_uris, c.logo_url, c.secret_hash,
	c.created_at, c.revoked_at, p.deactivated_at AS partner_deactivated_at
	FROM oidc_clients c JOIN partners p ON p.id = c.partner_id`

// OIDCClient returns one client with its partner's name and state.
func (c *Conn) OIDCClient(ctx context.Context, id string) (*OIDCClient, error) {
	const q = `SELECT` + oidcClientColumns + ` WHERE c.id = ?`
	var cl OIDCClient
	if err := c.x.GetContext(ctx, &cl, c.q(q), id); err != nil {
		return nil, fmt.Errorf("oidc client: %w", mapErr(err))
	}
	return &cl, nil
}

// PartnerOIDCClients lists a partner's clients, newest first.
func (c *Conn) PartnerOIDCClients(ctx context.Context, partnerID string) ([]OIDCClient, error) {
	const q = `SELECT` + oidcClientColumns + ` WHERE c.partner_id = ? ORDER BY c.created_at DESC, c.id`
	var out []OIDCClient
	if err := c.x.SelectContext(ctx, &out, c.q(q), partnerID); err != nil {
		return nil, fmt.Errorf("oidc clients: %w", mapErr(err))
	}
	return out, nil
}

// RevokeOIDCClient stops a client and every access token it holds.
func (c *Conn) RevokeOIDCClient(ctx context.Context, id string, now time.Time) error {
	const q = `UPDATE oidc_clients SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`
	res, err := c.x.ExecContext(ctx, c.q(q), c.ts(now), id)
	if err != nil {
		return fmt.Errorf("revoke oidc client: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("oidc client %s is revoked already: %w", id, model.ErrConflict)
	}
	const qTokens = `UPDATE oidc_access_tokens SET revoked_at = ? WHERE client_id = ? AND revoked_at IS NULL`
	if _, err := c.x.ExecContext(ctx, c.q(qTokens), c.ts(now), id); err != nil {
		return fmt.Errorf("revoke oidc client tokens: %w", mapErr(err))
	}
	return nil
}

// OIDCSigningKeys lists the provider's token signing keys, newest first.
func (c *Conn) OIDCSigningKeys(ctx context.Context) ([]model.SigningKey, error) {
	const q = `SELECT kid, public_key, private_key_enc, status, created_at, retired_at FROM oidc_signing_keys ORDER BY created_at DESC, kid`
	var ks []model.SigningKey
	if err := c.x.SelectContext(ctx, &ks, q); err != nil {
		return nil, fmt.Errorf("oidc signing keys: %w", mapErr(err))
	}
	return ks, nil
}

// RetireOIDCSigningKey takes a verify-only token signing key out of the
// JWKS: ID tokens it signed no longer verify. The active key cannot be
// retired (ErrConflict); rotate first.
func (c *Conn) RetireOIDCSigningKey(ctx context.Context, kid string, now time.Time) error {
	const q = `UPDATE oidc_signing_keys SET status = 'retired', retired_at = ? WHERE kid = ? AND status = 'verify'`
	res, err := c.x.ExecContext(ctx, c.q(q), c.ts(now), kid)
	if err != nil {
		return fmt.Errorf("retire oidc signing key: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("oidc signing key %s is not a verify-only key: %w", kid, model.ErrConflict)
	}
	return nil
}

// AddOIDCSigningKey stores a token signing key; an active one makes the
// older active keys verify-only, so exactly one signs and the others stay in
// the JWKS until retired.
func (c *Conn) AddOIDCSigningKey(ctx context.Context, k *model.SigningKey) error {
	if k.Status == model.KeyActive {
		const qDemote = `UPDATE oidc_signing_keys SET status = 'verify' WHERE status = 'active'`
		if _, err := c.x.ExecContext(ctx, qDemote); err != nil {
			return fmt.Errorf("demote oidc signing keys: %w", mapErr(err))
		}
	}
	const q = `
		INSERT INTO oidc_signing_keys (kid, public_key, private_key_enc, status, created_at)
		VALUES (?, ?, ?, ?, ?)`
	if _, err := c.x.ExecContext(ctx, c.q(q), k.KeyID, k.PublicKey, k.PrivateKeyEnc, k.Status, c.ts(k.CreatedAt)); err != nil {
		return fmt.Errorf("insert oidc signing key: %w", mapErr(err))
	}
	return nil
}

// CreateOIDCAuthRequest stores a new authorization request.
func (c *Conn) CreateOIDCAuthRequest(ctx context.Context, r *OIDCAuthRequest) error {
	const q = `
		INSERT INTO oidc_auth_requests (id, client_id, redirect_uri, scopes, state, nonce, response_mode,
			code_challenge, code_challenge_method, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	if _, err := c.x.ExecContext(ctx, c.q(q), r.ID, r.ClientID, r.RedirectURI, r.Scopes, r.State, r.Nonce, r.ResponseMode,
		r.CodeChallenge, r.CodeChallengeMethod, c.ts(r.CreatedAt), c.ts(r.ExpiresAt)); err != nil {
		return fmt.Errorf("insert oidc auth request: %w", mapErr(err))
	}
	return nil
}

const oidcAuthRequestColumns = `id, client_id, redirect_uri, scopes, state, nonce, response_mode, code_challenge,
	code_challenge_method, member_id, subject, share_profile, auth_time, code_used_at, created_at, expires_at,
	user_code, browser_hash
	FROM oidc_auth_requests`

// OIDCAuthRequest returns one authorization request.
func (c *Conn) OIDCAuthRequest(ctx context.Context, id string) (*OIDCAuthRequest, error) {
	const q = `SELECT ` + oidcAuthRequestColumns + ` WHERE id = ?`
	var r OIDCAuthRequest
	if err := c.x.GetContext(ctx, &r, c.q(q), id); err != nil {
		return nil, fmt.Errorf("oidc auth request: %w", mapErr(err))
	}
	return &r, nil
}

// SetOIDCUserCode gives a pending, unexpired request that has none the user
// code of a sign-in on another device, bound to the browser whose cookie
// hashes to browserHash. It returns ErrConflict when the request already
// has a code (another tab or browser got there first), is no longer
// pending, or when the code is taken by another request: the caller reads
// the request again to tell which, and draws another code for the last.
func (c *Conn) SetOIDCUserCode(ctx context.Context, id, code, browserHash string, now time.Time) error {
	const q = `
		UPDATE oidc_auth_requests SET user_code = ?, browser_hash = ?
		WHERE id = ? AND user_code IS NULL AND member_id IS NULL AND expires_at > ?`
	res, err := c.x.ExecContext(ctx, c.q(q), code, browserHash, id, c.ts(now))
	if err != nil {
		return fmt.Errorf("set oidc user code: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("oidc auth request %s has a user code already or is not pending: %w", id, model.ErrConflict)
	}
	return nil
}

// OIDCAuthRequestByUserCode returns the request a user code was given to.
func (c *Conn) OIDCAuthRequestByUserCode(ctx context.Context, code string) (*OIDCAuthRequest, error) {
	const q = `SELECT ` + oidcAuthRequestColumns + ` WHERE user_code = ?`
	var r OIDCAuthRequest
	if err := c.x.GetContext(ctx, &r, c.q(q), code); err != nil {
		return nil, fmt.Errorf("oidc auth request by user code: %w", mapErr(err))
	}
	return &r, nil
}

// ApproveOIDCAuthRequest records the member who approved a pending,
// unexpired request; a request is approved once.
func (c *Conn) ApproveOIDCAuthRequest(ctx context.Context, id, memberID, subject string, shareProfile bool, now time.Time) error {
	const q = `
		UPDATE oidc_auth_requests SET member_id = ?, subject = ?, share_profile = ?, auth_time = ?
		WHERE id = ? AND member_id IS NULL AND expires_at > ?`
	res, err := c.x.ExecContext(ctx, c.q(q), memberID, subject, shareProfile, c.ts(now), id, c.ts(now))
	if err != nil {
		return fmt.Errorf("approve oidc auth request: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("oidc auth request %s is not pending: %w", id, model.ErrConflict)
	}
	return nil
}

// SetOIDCCode attaches the hash of the authorization code to an approved
// request that has no code yet.
func (c *Conn) SetOIDCCode(ctx context.Context, id, codeHash string) error {
	const q = `UPDATE oidc_auth_requests SET code_hash = ? WHERE id = ? AND member_id IS NOT NULL AND code_hash IS NULL`
	res, err := c.x.ExecContext(ctx, c.q(q), codeHash, id)
	if err != nil {
		return fmt.Errorf("set oidc code: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("oidc auth request %s has a code already or is not approved: %w", id, model.ErrConflict)
	}
	return nil
}

// ConsumeOIDCCode marks a code used and returns its request: a code answers
// once, before its request expires. A code presented again revokes the
// tokens issued for it (RFC 6749 §4.1.2) and is refused.
func (c *Conn) ConsumeOIDCCode(ctx context.Context, codeHash string, now time.Time) (*OIDCAuthRequest, error) {
	const q = `UPDATE oidc_auth_requests SET code_used_at = ? WHERE code_hash = ? AND code_used_at IS NULL AND expires_at > ?`
	res, err := c.x.ExecContext(ctx, c.q(q), c.ts(now), codeHash, c.ts(now))
	if err != nil {
		return nil, fmt.Errorf("consume oidc code: %w", mapErr(err))
	}
	const qGet = `SELECT ` + oidcAuthRequestColumns + ` WHERE code_hash = ?`
	var r OIDCAuthRequest
	if err := c.x.GetContext(ctx, &r, c.q(qGet), codeHash); err != nil {
		return nil, fmt.Errorf("oidc code: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if r.CodeUsedAt != nil {
			const qRevoke = `UPDATE oidc_access_tokens SET revoked_at = ? WHERE auth_request_id = ? AND revoked_at IS NULL`
			if _, err := c.x.ExecContext(ctx, c.q(qRevoke), c.ts(now), r.ID); err != nil {
				return nil, fmt.Errorf("revoke tokens of a reused code: %w", mapErr(err))
			}
		}
		return nil, fmt.Errorf("oidc code used or expired: %w", model.ErrNotFound)
	}
	return &r, nil
}

// PurgeOIDC deletes sign-in requests and access tokens that expired
// before t.
func (c *Conn) PurgeOIDC(ctx context.Context, t time.Time) (int64, error) {
	var total int64
	for _, q := range []string{
		`DELETE FROM oidc_auth_requests WHERE expires_at < ?`,
		`DELETE FROM oidc_access_tokens WHERE expires_at < ?`,
	} {
		res, err := c.x.ExecContext(ctx, c.q(q), c.ts(t))
		if err != nil {
			return total, fmt.Errorf("purge oidc: %w", mapErr(err))
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}

// CreateOIDCAccessToken stores an issued access token.
func (c *Conn) CreateOIDCAccessToken(ctx context.Context, t *OIDCAccessToken) error {
	const q = `
		INSERT INTO oidc_access_tokens (id_hash, auth_request_id, client_id, member_id, subject, scopes, share_profile, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	if _, err := c.x.ExecContext(ctx, c.q(q), t.IDHash, t.AuthRequestID, t.ClientID, t.MemberID, t.Subject, t.Scopes, t.ShareProfile,
		c.ts(t.CreatedAt), c.ts(t.ExpiresAt)); err != nil {
		return fmt.Errorf("insert oidc access token: %w", mapErr(err))
	}
	return nil
}

// OIDCAccessToken returns an access token by the hash of its id.
func (c *Conn) OIDCAccessToken(ctx context.Context, idHash string) (*OIDCAccessToken, error) {
	const q = `
		SELECT id_hash, auth_request_id, client_id, member_id, subject, scopes, share_profile, created_at, expires_at, revoked_at
		FROM oidc_access_tokens WHERE id_hash = ?`
	var t OIDCAccessToken
	if err := c.x.GetContext(ctx, &t, c.q(q), idHash); err != nil {
		return nil, fmt.Errorf("oidc access token: %w", mapErr(err))
	}
	return &t, nil
}

// RevokeOIDCAccessToken revokes one of a client's access tokens.
func (c *Conn) RevokeOIDCAccessToken(ctx context.Context, idHash, clientID string, now time.Time) error {
	const q = `UPDATE oidc_access_tokens SET revoked_at = ? WHERE id_hash = ? AND client_id = ? AND revoked_at IS NULL`
	if _, err := c.x.ExecContext(ctx, c.q(q), c.ts(now), idHash, clientID); err != nil {
		return fmt.Errorf("revoke oidc access token: %w", mapErr(err))
	}
	return nil
}

// SaveOIDCConsent records what a member agreed to share with a client.
func (c *Conn) SaveOIDCConsent(ctx context.Context, memberID, clientID string, shareProfile bool, now time.Time) error {
	const q = `
		INSERT INTO oidc_consents (member_id, client_id, share_profile, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (member_id, client_id) DO UPDATE SET share_profile = excluded.share_profile, created_at = excluded.created_at`
	if _, err := c.x.ExecContext(ctx, c.q(q), memberID, clientID, shareProfile, c.ts(now)); err != nil {
		return fmt.Errorf("save oidc consent: %w", mapErr(err))
	}
	return nil
}

// ExpireOIDCAuthRequest ends a pending request (the member declined).
func (c *Conn) ExpireOIDCAuthRequest(ctx context.Context, id string, now time.Time) error {
	const q = `UPDATE oidc_auth_requests SET expires_at = ? WHERE id = ? AND member_id IS NULL`
	if _, err := c.x.ExecContext(ctx, c.q(q), c.ts(now), id); err != nil {
		return fmt.Errorf("expire oidc auth request: %w", mapErr(err))
	}
	return nil
}

// InsertOnlineRedemption records a redemption made on a partner's website
// (no venue; the client and the booking reference instead), re-checking as
// it writes that the member is still active with the tier granted and the
// perk still offered by the redemption's partner with the rules read
// (s; its CardID is not used: an online redemption names no card);
// otherwise ErrStandingChanged. The idempotency
// key is unique per client (api_key_id "oidc:<client>").
func (c *Conn) InsertOnlineRedemption(ctx context.Context, r *model.Redemption, s Standing, clientID, bookingReference string) error {
	const q = `
		INSERT INTO redemptions (` + redemptionColumns + `, oidc_client_id, booking_reference)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
		WHERE EXISTS (SELECT 1 FROM members m WHERE m.id = ? AND m.status = 'active' AND m.tier = ?)
		  AND EXISTS (SELECT 1 FROM perks k WHERE k.id = ? AND k.partner_id = ? AND k.active AND ` + perkRulesGuard + `)`
	k := s.Perk
	res, err := c.x.ExecContext(ctx, c.q(q), r.ID, r.VerificationID, r.IdempotencyKey, r.APIKeyID, r.PerkID,
		r.PartnerID, r.VenueID, r.MemberID, r.CardID, r.GuestPassID, r.PartySize, c.ts(r.At), clientID, bookingReference,
		r.MemberID, s.Tier, r.PerkID, r.PartnerID,
		k.EligibleTiers, k.Companions, k.LimitPerDay, k.LimitPerMonth, k.Days, k.Hours) // perkRulesGuard
	if err != nil {
		return fmt.Errorf("insert online redemption: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("insert online redemption: %w", ErrStandingChanged)
	}
	return nil
}

// OnlineRedemptionByIdempotencyKey finds an earlier online redemption of
// the same request, with its booking reference.
func (c *Conn) OnlineRedemptionByIdempotencyKey(ctx context.Context, apiKeyID, key string) (*model.Redemption, string, error) {
	const q = `SELECT ` + redemptionColumns + `, booking_reference FROM redemptions WHERE api_key_id = ? AND idempotency_key = ?`
	var row struct {
		model.Redemption
		BookingReference string `db:"booking_reference"`
	}
	if err := c.x.GetContext(ctx, &row, c.q(q), apiKeyID, key); err != nil {
		return nil, "", fmt.Errorf("online redemption by key: %w", mapErr(err))
	}
	return &row.Redemption, row.BookingReference, nil
}

// RewrapOIDCSigningKey replaces a token key's sealed private key (master
// key rotation).
func (c *Conn) RewrapOIDCSigningKey(ctx context.Context, kid string, enc []byte) error {
	const q = `UPDATE oidc_signing_keys SET private_key_enc = ? WHERE kid = ?`
	if _, err := c.x.ExecContext(ctx, c.q(q), enc, kid); err != nil {
		return fmt.Errorf("rewrap oidc signing key: %w", mapErr(err))
	}
	return nil
}

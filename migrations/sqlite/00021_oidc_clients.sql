-- +goose Up
-- Online perks (issue 16): the partner websites that sign members in
-- through alumnipass's OpenID Provider, and the provider's own token
-- signing keys (apart from the card issuer keys; the private key sealed
-- under the master key like theirs).
CREATE TABLE oidc_clients (
    id            TEXT PRIMARY KEY,
    partner_id    TEXT NOT NULL REFERENCES partners (id),
    name          TEXT NOT NULL,
    redirect_uris TEXT NOT NULL, -- one per line, matched exactly
    logo_url      TEXT NOT NULL DEFAULT '',
    secret_hash   TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    revoked_at    TIMESTAMP
);
CREATE INDEX oidc_clients_partner_idx ON oidc_clients (partner_id);

CREATE TABLE oidc_signing_keys (
    kid             TEXT PRIMARY KEY,
    public_key      BLOB NOT NULL,
    private_key_enc BLOB NOT NULL,
    status          TEXT NOT NULL, -- active, verify, retired
    created_at      TIMESTAMP NOT NULL,
    retired_at      TIMESTAMP
);

-- +goose Down
SELECT 'forward-only';

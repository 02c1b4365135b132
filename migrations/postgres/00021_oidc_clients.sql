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
    created_at    TIMESTAMPTZ NOT NULL,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX oidc_clients_partner_idx ON oidc_clients (partner_id);

CREATE TABLE oidc_signing_keys (
    kid             TEXT PRIMARY KEY,
    public_key      BYTEA NOT NULL,
    private_key_enc BYTEA NOT NULL,
    status          TEXT NOT NULL, -- active, verify, retired
    created_at      TIMESTAMPTZ NOT NULL,
    retired_at      TIMESTAMPTZ
);

-- +goose Down
SELECT 'forward-only';

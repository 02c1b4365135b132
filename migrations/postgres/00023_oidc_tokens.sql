-- +goose Up
-- Access tokens (only the hash of their id is stored; userinfo and
-- introspection read the member's current status through them) and what a
-- member agreed to share with a client.
CREATE TABLE oidc_access_tokens (
    id_hash         TEXT PRIMARY KEY,
    auth_request_id TEXT NOT NULL,
    client_id       TEXT NOT NULL REFERENCES oidc_clients (id),
    member_id       TEXT NOT NULL REFERENCES members (id),
    subject         TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    share_profile   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    revoked_at      TIMESTAMPTZ
);
CREATE INDEX oidc_access_tokens_request_idx ON oidc_access_tokens (auth_request_id);

CREATE TABLE oidc_consents (
    member_id     TEXT NOT NULL REFERENCES members (id),
    client_id     TEXT NOT NULL REFERENCES oidc_clients (id),
    share_profile BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (member_id, client_id)
);

-- An online redemption (a booking on the partner's website, recorded with
-- the member's access token) is a redemption like a counter one, counted
-- in the same limits and reports: no venue, the website's client instead,
-- and the partner's booking reference.
ALTER TABLE redemptions ADD COLUMN oidc_client_id TEXT;
ALTER TABLE redemptions ADD COLUMN booking_reference TEXT NOT NULL DEFAULT '';

-- +goose Down
SELECT 'forward-only';

-- +goose Up
-- One authorization request from /oidc/authorize until its code is
-- exchanged: the PKCE challenge is kept, the code only as a hash, and a
-- code is consumed once (used_at).
CREATE TABLE oidc_auth_requests (
    id                    TEXT PRIMARY KEY,
    client_id             TEXT NOT NULL REFERENCES oidc_clients (id),
    redirect_uri          TEXT NOT NULL,
    scopes                TEXT NOT NULL, -- space separated
    state                 TEXT NOT NULL DEFAULT '',
    nonce                 TEXT NOT NULL DEFAULT '',
    response_mode         TEXT NOT NULL DEFAULT '',
    code_challenge        TEXT NOT NULL,
    code_challenge_method TEXT NOT NULL,
    member_id             TEXT REFERENCES members (id),
    subject               TEXT NOT NULL DEFAULT '',
    share_profile         BOOLEAN NOT NULL DEFAULT FALSE,
    auth_time             TIMESTAMPTZ,
    code_hash             TEXT UNIQUE,
    code_used_at          TIMESTAMPTZ,
    created_at            TIMESTAMPTZ NOT NULL,
    expires_at            TIMESTAMPTZ NOT NULL
);
CREATE INDEX oidc_auth_requests_expiry_idx ON oidc_auth_requests (expires_at);

-- +goose Down
SELECT 'forward-only';

-- +goose Up
-- Console sign-in hardening (issue 13).
-- The last TOTP time step accepted for each console user: a code is good
-- once (RFC 6238 §5.2), enforced by a guarded UPDATE.
ALTER TABLE admins ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
-- A second factor being set up belongs to one sign-in session, sealed like
-- the confirmed secret; confirming in one session clears the others'.
ALTER TABLE sessions ADD COLUMN totp_pending_enc BYTEA;
-- Failed sign-ins per (account, address) with exponential backoff, and per
-- address across accounts; in the database so that every instance sees the
-- same counts.
CREATE TABLE signin_throttle (
    key           TEXT PRIMARY KEY,
    failures      INTEGER NOT NULL,
    window_start  TIMESTAMPTZ NOT NULL,
    last_at       TIMESTAMPTZ NOT NULL,
    blocked_until TIMESTAMPTZ NOT NULL
);
CREATE INDEX signin_throttle_last_at_idx ON signin_throttle (last_at);

-- +goose Down
SELECT 'forward-only';

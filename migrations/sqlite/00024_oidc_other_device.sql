-- +goose Up
-- A sign-in finished on another device (a laptop booking a hotel): the
-- page there shows a short user code, which the member confirms in the
-- wallet on their phone. The code is unique while its request lives; the
-- laptop's browser is bound to the request by a cookie, kept as a hash.
ALTER TABLE oidc_auth_requests ADD COLUMN user_code TEXT;
ALTER TABLE oidc_auth_requests ADD COLUMN browser_hash TEXT;
CREATE UNIQUE INDEX oidc_auth_requests_user_code_idx ON oidc_auth_requests (user_code);

-- +goose Down
SELECT 'forward-only';

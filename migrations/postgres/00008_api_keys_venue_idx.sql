-- +goose Up
-- A venue may hold only so many active device keys (ALUMNIPASS_MAX_KEYS_PER_VENUE);
-- issuing and pairing count them under the venue's row lock.
CREATE INDEX api_keys_venue_active_idx ON api_keys (venue_id) WHERE revoked_at IS NULL;

-- +goose Down
SELECT 'forward-only';

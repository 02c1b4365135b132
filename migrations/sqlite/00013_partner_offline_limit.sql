-- +goose Up
-- How old a scanner's offline data (keys.json and the status list) may be
-- before it refuses to decide offline, per partner (DESIGN §7: the
-- partner's limit, 15 minutes unless it sets another). A row only when the
-- partner has set one.
CREATE TABLE partner_settings (
    partner_id              TEXT PRIMARY KEY REFERENCES partners (id),
    offline_max_age_seconds INTEGER NOT NULL
);

-- +goose Down
SELECT 'forward-only';

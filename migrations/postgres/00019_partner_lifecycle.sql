-- +goose Up
-- Day two of partners: a partner can be deactivated and a venue closed.
-- Their keys are revoked in the same transaction, and the key lookup also
-- treats a key of a deactivated partner or a closed venue as revoked, so
-- none answers again whatever path issued it.
ALTER TABLE partners ADD COLUMN deactivated_at TIMESTAMPTZ;
ALTER TABLE venues ADD COLUMN closed_at TIMESTAMPTZ;

-- +goose Down
SELECT 'forward-only';

-- +goose Up
-- Issuing, re-issuing and revoking look a member's cards up; without this
-- index each of those scanned the whole cards table.
CREATE INDEX cards_member_idx ON cards (member_id);

-- +goose Down
SELECT 'forward-only';

-- +goose Up
-- The folded search key of a member (internal/textfold.MemberKey): names,
-- reading, employee number and e-mail with variant kanji, kana, width and
-- case folded, so that a search for 高橋 finds 髙橋 and たかはし finds タカハシ.
-- It is computed in Go on every write; rows written before this version
-- have '' and are filled in by the store right after migrating
-- (store.Migrate → backfillSearchKeys), found through the partial index,
-- which is empty once they are done and costs writes nothing afterwards.
-- Searches are LIKE '%…%' on this one column: a scan of a narrow column,
-- which no B-tree can serve (docs/scaling.md).
ALTER TABLE members ADD COLUMN search_key TEXT NOT NULL DEFAULT '';
CREATE INDEX members_search_key_pending_idx ON members (id) WHERE search_key = '';

-- +goose Down
SELECT 'forward-only';

-- +goose Up
-- Every scan inserts one verifications row and claims one code_uses row, so
-- what each index costs per insert is paid at the counter (docs/benchmarks.md).
-- The time indexes serve only the retention purge, and both tables are
-- written in time order: a BRIN index answers "older than" just as well and
-- costs next to nothing per insert, where a B-tree costs a descent and a
-- page write. Random keys (UUIDv7 text, SHA-256 hex) need no linguistic
-- order: with the C collation their B-tree compares bytes instead of calling
-- strcoll (databases created as C.UTF-8 or en_US.UTF-8 pay that on every
-- comparison). No query joins or sorts these columns against other text;
-- member_id is only compared with a parameter (a member's own history).
DROP INDEX verifications_at_idx;
CREATE INDEX verifications_at_idx ON verifications USING brin (at);
DROP INDEX code_uses_expires_idx;
CREATE INDEX code_uses_expires_idx ON code_uses USING brin (expires_at);
ALTER TABLE verifications ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE verifications ALTER COLUMN member_id TYPE TEXT COLLATE "C";
ALTER TABLE code_uses ALTER COLUMN code_hash TYPE TEXT COLLATE "C";

-- +goose Down
SELECT 'forward-only';

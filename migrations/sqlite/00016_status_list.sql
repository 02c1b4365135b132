-- +goose Up
-- The signed status list (docs/credential-format.md, section 13): what an
-- offline verifier must refuse. status_changes keeps one row per card or
-- guest pass whose status a scanner must know, with the sequence number of
-- its latest change; a delta "since N" is the rows with seq > N, a full
-- list the rows not 'active' that have not expired. status_list_head holds
-- the last sequence number: every writer takes it (UPDATE ... seq + 1) in
-- the transaction that changes a status, so sequence numbers become visible
-- in the order they were given and a reader never skips one.
CREATE TABLE status_list_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL
);
INSERT INTO status_list_head (id, seq) VALUES (1, 1);

CREATE TABLE status_changes (
    subject_id    TEXT PRIMARY KEY,
    subject_kind  TEXT NOT NULL,
    status        TEXT NOT NULL,
    seq           BIGINT NOT NULL,
    changed_at    TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL
);
CREATE INDEX status_changes_seq_idx ON status_changes (seq);

-- What was already revoked, suspended or cancelled before this version.
INSERT INTO status_changes (subject_id, subject_kind, status, seq, changed_at, expires_at)
SELECT c.id, 'card', CASE WHEN c.status = 'revoked' OR m.status = 'revoked' THEN 'revoked' ELSE 'suspended' END,
       1, COALESCE(c.revoked_at, m.updated_at), c.expires_at
FROM cards c JOIN members m ON m.id = c.member_id
WHERE c.status = 'revoked' OR m.status IN ('revoked', 'suspended');
INSERT INTO status_changes (subject_id, subject_kind, status, seq, changed_at, expires_at)
SELECT id, 'guest', 'cancelled', 1, created_at, valid_until FROM guest_passes WHERE status = 'cancelled';

-- +goose Down
SELECT 'forward-only';

-- +goose Up
-- The scan log grows by millions of rows a month and is kept for the
-- retention period only. Partitioned by month (UTC) of the scan, retention
-- drops whole partitions (a catalog change, no dead tuples, no vacuum of a
-- huge table) instead of deleting old rows; only the partition that holds
-- the retention cut-off is trimmed by DELETE, one purge interval of rows at
-- a time (store.PurgeBefore). The purge job also creates the partitions of
-- the coming months (store.EnsureLogPartitions); the default partition
-- catches a scan whose month has none yet, so an insert never fails.
--
-- A primary key of a partitioned table must contain the partition key, so
-- it becomes (id, at): ids are still unique (UUIDv7 made per scan), and a
-- lookup by id probes each partition's index (docs/benchmarks.md measures
-- it). Nothing references verifications by foreign key.
--
-- code_uses stays one table: its primary key on code_hash is what makes
-- "replayed" hold across instances, and a unique key of a partitioned table
-- would have to include the partition key; its rows expire within minutes.
--
-- The existing rows are copied in this transaction (on a large log, run
-- `alumnipass migrate up` in a quiet hour, as for 00004).
ALTER TABLE verifications RENAME TO verifications_unpartitioned;
ALTER TABLE verifications_unpartitioned RENAME CONSTRAINT verifications_pkey TO verifications_unpartitioned_pkey;
ALTER INDEX verifications_at_idx RENAME TO verifications_unpartitioned_at_idx;
ALTER INDEX verifications_member_idx RENAME TO verifications_unpartitioned_member_idx;

CREATE TABLE verifications (
    id            TEXT COLLATE "C" NOT NULL,
    at            TIMESTAMPTZ NOT NULL,
    partner_id    TEXT NOT NULL,
    venue_id      TEXT NOT NULL,
    api_key_id    TEXT NOT NULL,
    kind          TEXT NOT NULL,
    card_id       TEXT,
    guest_pass_id TEXT,
    member_id     TEXT COLLATE "C",
    code_hash     TEXT NOT NULL,
    result        TEXT NOT NULL,
    detail        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE TABLE verifications_default PARTITION OF verifications DEFAULT;

-- One partition per month from the oldest row to two months ahead.
-- +goose StatementBegin
DO $$
DECLARE
    m    timestamptz := date_trunc('month', COALESCE((SELECT min(at) FROM verifications_unpartitioned), now()) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    last timestamptz := date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '2 months';
BEGIN
    WHILE m <= last LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF verifications FOR VALUES FROM (%L) TO (%L)',
            'verifications_p' || to_char(m AT TIME ZONE 'UTC', 'YYYYMM'), m, m + interval '1 month');
        m := m + interval '1 month';
    END LOOP;
END
$$;
-- +goose StatementEnd

INSERT INTO verifications SELECT id, at, partner_id, venue_id, api_key_id, kind, card_id, guest_pass_id, member_id,
    code_hash, result, detail FROM verifications_unpartitioned;
DROP TABLE verifications_unpartitioned;
CREATE INDEX verifications_at_idx ON verifications USING brin (at);
CREATE INDEX verifications_member_idx ON verifications (member_id, at);

-- +goose Down
SELECT 'forward-only';

-- Scan log at scale: insert speed and retention purge of the monthly
-- partitions (migration 00014) against one unpartitioned table, on a
-- database migrated by `alumnipass migrate up`. docs/benchmarks.md gives the
-- command and the results. :rows scans are spread evenly over 5 months; the
-- purge removes the oldest month: DROP TABLE of its partition against
-- DELETE (and the VACUUM it then needs) on the plain table.
\set ON_ERROR_STOP on
\timing on
SET client_min_messages = warning;
SELECT set_config('bench.rows', :'rows', false);

-- The months, as the purge job makes them (store.EnsureLogPartitions).
DO $$
DECLARE m timestamptz := date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '5 months';
BEGIN
    WHILE m < date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' LOOP
        EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF verifications FOR VALUES FROM (%L) TO (%L)',
            'verifications_p' || to_char(m AT TIME ZONE 'UTC', 'YYYYMM'), m, m + interval '1 month');
        m := m + interval '1 month';
    END LOOP;
END $$;
CREATE TABLE verifications_flat (LIKE verifications INCLUDING DEFAULTS);
ALTER TABLE verifications_flat ADD PRIMARY KEY (id);
CREATE INDEX ON verifications_flat USING brin (at);
CREATE INDEX ON verifications_flat (member_id, at);

-- Rows in time order, as scans arrive; ids are time-ordered like UUIDv7.
\echo 'insert into the partitioned log'
INSERT INTO verifications (id, at, partner_id, venue_id, api_key_id, kind, card_id, member_id, code_hash, result)
SELECT lpad(to_hex(g), 12, '0') || '-7000-8000-' || md5(g::text),
       date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '5 months' + (g * (interval '150 days' / current_setting('bench.rows')::bigint)),
       'partner', 'venue', 'key', 'member', 'card-' || (g % 1000000), 'member-' || (g % 1000000), md5('c' || g), 'valid'
FROM generate_series(1, current_setting('bench.rows')::bigint) g;
\echo 'insert into the plain table'
INSERT INTO verifications_flat (id, at, partner_id, venue_id, api_key_id, kind, card_id, member_id, code_hash, result)
SELECT lpad(to_hex(g), 12, '0') || '-7000-8000-' || md5(g::text),
       date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '5 months' + (g * (interval '150 days' / current_setting('bench.rows')::bigint)),
       'partner', 'venue', 'key', 'member', 'card-' || (g % 1000000), 'member-' || (g % 1000000), md5('c' || g), 'valid'
FROM generate_series(1, current_setting('bench.rows')::bigint) g;
ANALYZE verifications; ANALYZE verifications_flat;
SELECT pg_size_pretty(pg_total_relation_size('verifications_flat')) AS plain_table_size;
SELECT tableoid::regclass AS partition, count(*) FROM verifications GROUP BY 1 ORDER BY 1;

\echo 'purge the oldest month: DROP TABLE of its partition'
SELECT 'DROP TABLE verifications_p' || to_char(date_trunc('month', now() AT TIME ZONE 'UTC') - interval '5 months', 'YYYYMM') AS drop_sql \gset
BEGIN; SET LOCAL lock_timeout = '2s'; :drop_sql; COMMIT;
\echo 'purge the oldest month: DELETE from the plain table'
DELETE FROM verifications_flat WHERE at < date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '4 months';
\echo 'and the VACUUM the DELETE leaves to do'
VACUUM verifications_flat;

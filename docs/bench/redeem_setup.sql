-- Numbered valid verifications of a bench database (apbench -keep), for docs/bench/redeem_*.sql.
DROP TABLE IF EXISTS bench_v;
CREATE TABLE bench_v AS SELECT row_number() OVER () AS n, v.id AS vid, v.member_id AS mid, v.card_id AS cid, v.api_key_id AS kid, v.partner_id AS pid, v.venue_id AS venue
FROM verifications v WHERE v.result = 'valid' AND v.card_id IS NOT NULL LIMIT 100000;
CREATE UNIQUE INDEX ON bench_v (n);
ANALYZE bench_v;

-- pgbench script: the redemption statements before issue 17 (one transaction, one statement per table). See docs/benchmarks.md.
\set n random(1, 19000)
\set idem random(1, 1000000000)
SELECT vid, mid, cid, kid, pid, venue FROM bench_v WHERE n = :n \gset
BEGIN;
SELECT id, verification_id, idempotency_key, api_key_id, perk_id, partner_id, venue_id, member_id, card_id, guest_pass_id, party_size, at FROM redemptions WHERE api_key_id = :kid AND idempotency_key = 'i' || :idem;
SELECT id, at, partner_id, venue_id, api_key_id, kind, card_id, guest_pass_id, member_id, code_hash, result, detail FROM verifications WHERE id = :vid;
SELECT id, partner_id, title, description, title_en, description_en, eligible_tiers, companions, limit_per_day, limit_per_month, days, hours, active, created_at FROM perks WHERE id = :perk;
SELECT * FROM members WHERE id = :mid;
SELECT * FROM cards WHERE id = :cid;
INSERT INTO redemptions (id, verification_id, idempotency_key, api_key_id, perk_id, partner_id, venue_id, member_id, card_id, guest_pass_id, party_size, at)
VALUES (gen_random_uuid()::text, gen_random_uuid()::text, md5(random()::text), :kid, :perk, :pid, :venue, :mid, :cid, NULL, 1, now());
COMMIT;

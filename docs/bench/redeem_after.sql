-- pgbench script: the redemption statements after issue 17 (store.RedemptionFacts, store.InsertRedemptionIfStanding). See docs/benchmarks.md.
\set n random(1, 19000)
\set idem random(1, 1000000000)
SELECT vid, mid, cid, kid, pid, venue FROM bench_v WHERE n = :n \gset
SELECT r.id AS r_id, r.verification_id, r.perk_id, r.party_size, r.at, v.id, v.at, v.partner_id, v.result, v.card_id, v.guest_pass_id, v.member_id,
       k.id, k.partner_id, k.eligible_tiers, k.companions, k.limit_per_day, k.limit_per_month, k.days, k.hours, k.active,
       m.id, m.tier, m.status, g.id, g.card_id, g.party_size, g.status, c.id, c.status, c.companions
FROM (SELECT 1 AS one) o
LEFT JOIN redemptions r ON r.api_key_id = :kid AND r.idempotency_key = 'i' || :idem
LEFT JOIN (SELECT id, at, partner_id, result, card_id, guest_pass_id, member_id FROM verifications WHERE id = :vid LIMIT 1) v ON 1 = 1
LEFT JOIN perks k ON k.id = :perk
LEFT JOIN members m ON m.id = v.member_id COLLATE "default"
LEFT JOIN guest_passes g ON g.id = v.guest_pass_id
LEFT JOIN cards c ON c.id = COALESCE(g.card_id, v.card_id);
INSERT INTO redemptions (id, verification_id, idempotency_key, api_key_id, perk_id, partner_id, venue_id, member_id, card_id, guest_pass_id, party_size, at)
SELECT gen_random_uuid()::text, gen_random_uuid()::text, md5(random()::text), :kid, :perk, :pid, :venue, :mid, :cid, NULL, 1, now()
WHERE EXISTS (SELECT 1 FROM cards c JOIN members m ON m.id = c.member_id WHERE c.id = :cid AND c.status = 'active' AND m.id = :mid AND m.status = 'active')
  AND EXISTS (SELECT 1 FROM perks k WHERE k.id = :perk AND k.active)
  AND (CAST(NULL AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM guest_passes g WHERE g.id = NULL AND g.status = 'active'));

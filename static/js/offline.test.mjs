// Checks offline.js against the test vectors of docs/credential-format.md (sections 11, 12.6 and
// 13.6), read from the document itself. Run: node --test static/js/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { base45Decode, parseCode, importKeys, parseStatusList, applyDelta, decide } from './offline.js';

const doc = readFileSync(new URL('../../docs/credential-format.md', import.meta.url), 'utf8');
const v = {};
for (const marker of ['<!-- test-vectors: ', '<!-- test-vectors-v2: ', '<!-- test-vectors-status: ']) {
  const block = doc.slice(doc.indexOf(marker)).split('```text\n')[1].split('```')[0];
  for (const line of block.trim().split('\n')) {
    const i = line.indexOf(' ');
    v[line.slice(0, i)] = line.slice(i).trim();
  }
}
const fromHex = (h) => Uint8Array.from(h.match(/../g), (b) => parseInt(b, 16));
const b64url = (u) => Buffer.from(u).toString('base64url');
const T0 = Date.parse('2026-01-01T00:00:10Z');
const keysJSON = { keys: [{ kty: 'OKP', crv: 'Ed25519', use: 'sig', alg: 'EdDSA', kid: v.kid, x: b64url(fromHex(v.ed25519_public_key)) }] };
const empty = (issuedAt) => ({ delta: false, issuedAt, seq: 1, since: 0, sections: [0, 1, 2, 3].map(() => new Uint8Array(0)) });
const v2 = v['v2.card.code@2026-01-01T00:00:00Z'];
const v1 = v['card.code@2026-01-01T00:00:00Z'];

test('strict base45', () => {
  assert.deepEqual(base45Decode('BB8'), new TextEncoder().encode('AB'));
  assert.equal(base45Decode('GGW'), null); // 65536
  assert.equal(base45Decode('ab8'), null);
  assert.equal(base45Decode('BB8B'), null);
});

test('the documented codes parse', () => {
  assert.equal(parseCode(v2).format, 2);
  assert.equal(parseCode(v1).format, 1);
  assert.equal(parseCode(v['guest.code']).kind, 'guest');
  assert.equal(parseCode(`${v2}0`), null);
  assert.equal(parseCode(v2.toLowerCase()), null);
});

test('decisions against the documented keys and status lists', async () => {
  const keys = await importKeys(keysJSON);
  assert.equal(keys.size, 1);
  const full = await parseStatusList(fromHex(v['status.full']), keys);
  const delta = await parseStatusList(fromHex(v['status.delta_since_42']), keys);
  assert.ok(full && delta, 'the documented lists verify');
  const merged = applyDelta(full, delta);
  assert.ok(merged);
  assert.equal(applyDelta(merged, delta), null, 'a delta applies only to the list it continues');
  const fresh = empty(T0 - 60000);
  const at = (d) => ({ ...merged, issuedAt: T0 - 60000 + d });
  const cases = [
    ['v2 live', fresh, v2, T0, 'valid'],
    ['v2 two minutes later', empty(T0 + 60000), v2, T0 + 120000, 'stale'],
    ['v2 revoked in the list', { ...full, issuedAt: T0 - 1000 }, v2, T0, 'revoked'],
    ['v1 card', fresh, v1, T0, 'freshness_unknown'],
    ['guest pass cancelled', { ...full, issuedAt: T0 - 1000 }, v['guest.code'], T0, 'revoked'],
    ['guest pass', fresh, v['guest.code'], T0, 'valid'],
    ['data 16 minutes old', empty(T0 - 16 * 60000), v2, T0, 'data_too_old'],
    ['no data', null, v2, T0, 'data_too_old'],
    ['merged: a0 still revoked', at(0), v2, T0, 'revoked'],
    ['tampered', fresh, v2.slice(0, 200) + (v2[200] === '0' ? '1' : '0') + v2.slice(201), T0, 'invalid'],
  ];
  for (const [name, status, code, now, want] of cases) {
    const got = await decide(keys, status, code, now);
    assert.equal(got.result, want, name);
    assert.equal(got.offline, true);
  }
  const stale = await decide(keys, empty(T0 + 60000), v2, T0 + 120000);
  assert.equal(stale.offset_seconds, -120);
  const live = await decide(keys, fresh, v2, T0);
  assert.equal(live.freshness_checked, true);
});

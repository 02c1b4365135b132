// Checks device.js against the version 2 test vectors of docs/credential-format.md (section 12.6),
// read from the document itself. Run: node --test static/js/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { base45Encode, signedBytes, assembleV2, cardCodeV2 } from './device.js';

const doc = readFileSync(new URL('../../docs/credential-format.md', import.meta.url), 'utf8');
const vectors = {};
for (const marker of ['<!-- test-vectors: ', '<!-- test-vectors-v2: ']) {
  const block = doc.slice(doc.indexOf(marker)).split('```text\n')[1].split('```')[0];
  for (const line of block.trim().split('\n')) {
    const i = line.indexOf(' ');
    vectors[line.slice(0, i)] = line.slice(i).trim();
  }
}
const hex = (h) => Uint8Array.from(h.match(/../g), (b) => parseInt(b, 16));
const toHex = (u) => Array.from(u, (b) => b.toString(16).padStart(2, '0')).join('');
const uuid = (h) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
const T = '2026-01-01T00:00:00Z';
const cardId = uuid(vectors['card.card_id']);

test('base45 of RFC 9285 examples', () => {
  const enc = (s) => base45Encode(new TextEncoder().encode(s));
  assert.equal(enc('AB'), 'BB8');
  assert.equal(enc('ietf!'), 'QED8WEX0');
  assert.equal(enc('Hello!!'), '%69 VD92EX0');
});

test('device signed bytes and the code text match the document', () => {
  const step = Number(vectors[`v2.step@${T}`]);
  assert.equal(toHex(signedBytes(cardId, step)), vectors[`v2.device_signed@${T}`]);
  const code = assembleV2(step, hex(vectors[`v2.device_signature@${T}`]), vectors['v2.card.signed_part']);
  assert.equal(code, vectors[`v2.card.code@${T}`]);
});

test('a code signed by WebCrypto verifies with the public key', async () => {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  const step = 58907520;
  const code = await cardCodeV2(pair.privateKey, cardId, vectors['v2.card.signed_part'], step);
  assert.equal(code.length, Number(vectors['v2.card.code_length']));
  await assert.rejects(crypto.subtle.exportKey('pkcs8', pair.privateKey), 'the private key is not extractable');
});

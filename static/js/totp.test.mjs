// Checks totp.js against the RFC 6238 appendix B SHA-1 vectors (truncated to 6 digits).
// Run: node --test static/js/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  base32Decode, importSecret, totp, hotp, stepAt, msUntilNextStep, cardCode,
} from './totp.js';

const RFC_SECRET = new TextEncoder().encode('12345678901234567890');
// base32 of "12345678901234567890"
const RFC_SECRET_B32 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

const vectors = [
  [59, '287082'],
  [1111111109, '081804'],
  [1111111111, '050471'],
  [1234567890, '005924'],
  [2000000000, '279037'],
  [20000000000, '353130'], // beyond 2^32 steps' seconds: exercises the high counter word
];

test('RFC 6238 SHA-1 vectors, 6 digits', async (t) => {
  const key = await importSecret(RFC_SECRET);
  for (const [time, want] of vectors) {
    await t.test(`T=${time}`, async () => {
      assert.equal(await totp(key, time), want);
    });
  }
});

test('8-digit values match the RFC table', async () => {
  const key = await importSecret(RFC_SECRET);
  assert.equal(await totp(key, 59, 8), '94287082');
  assert.equal(await totp(key, 20000000000, 8), '65353130');
});

test('RFC 4226 HOTP vectors', async () => {
  const key = await importSecret(RFC_SECRET);
  const want = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
  for (let c = 0; c < want.length; c++) assert.equal(await hotp(key, c), want[c]);
});

test('base32 decodes the RFC secret and tolerates case, spaces and padding', () => {
  assert.deepEqual(base32Decode(RFC_SECRET_B32), RFC_SECRET);
  assert.deepEqual(base32Decode('gezd gnbv gy3t qojq gezd gnbv gy3t qojq'), RFC_SECRET);
  assert.deepEqual(base32Decode('MZXW6YQ='), new TextEncoder().encode('foob'));
  assert.deepEqual(base32Decode('MZXW6YTBOI'), new TextEncoder().encode('foobar'));
  assert.deepEqual(base32Decode(''), new Uint8Array(0));
  assert.throws(() => base32Decode('ABC1'));
});

test('base32 secret gives the same codes as the raw bytes', async () => {
  const key = await importSecret(base32Decode(RFC_SECRET_B32));
  assert.equal(await totp(key, 1111111111), '050471');
});

test('step arithmetic', () => {
  assert.equal(stepAt(59_000), 1);
  assert.equal(stepAt(60_000), 2);
  assert.equal(msUntilNextStep(60_000), 30_000);
  assert.equal(msUntilNextStep(89_999), 1);
  assert.equal(cardCode('050471', 'XYZ'), 'AP1:C050471XYZ');
});

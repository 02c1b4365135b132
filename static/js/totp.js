// TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30 s period, T0 = 0) computed with WebCrypto, and the
// card code built from it. An ES module with no DOM use, so the wallet page and node's test
// runner load the same file (node >= 20 has globalThis.crypto.subtle).

/** TOTP parameters shared with the server (pquerna/otp defaults, Google Wallet rotating barcodes). */
export const PERIOD_SECONDS = 30;
export const DIGITS = 6;

/** Prefix of a member card's code text; a guest pass code starts with "AP1:G". */
export const CARD_PREFIX = 'AP1:C';

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * Decodes RFC 4648 base32. Lower case, spaces, hyphens and "=" padding are tolerated because
 * people copy secrets by hand; any other character throws.
 * @param {string} text
 * @returns {Uint8Array}
 */
export function base32Decode(text) {
  const clean = String(text).toUpperCase().replace(/[\s=-]/g, '');
  const out = new Uint8Array(Math.floor((clean.length * 5) / 8));
  let bits = 0;
  let value = 0;
  let n = 0;
  for (const ch of clean) {
    const v = B32.indexOf(ch);
    if (v < 0) throw new Error(`base32: invalid character ${JSON.stringify(ch)}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (value >>> bits) & 0xff;
    }
  }
  return out;
}

/**
 * Imports raw secret bytes as an HMAC-SHA1 signing key. Import once, sign every step.
 * @param {Uint8Array} secret
 * @returns {Promise<CryptoKey>}
 */
export function importSecret(secret) {
  return crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
}

/** The TOTP step (moving factor) for a Unix time in milliseconds. */
export function stepAt(unixMs) {
  return Math.floor(unixMs / 1000 / PERIOD_SECONDS);
}

/** Milliseconds until the step after the one containing unixMs begins. */
export function msUntilNextStep(unixMs) {
  const period = PERIOD_SECONDS * 1000;
  return period - (((unixMs % period) + period) % period);
}

/**
 * HOTP (RFC 4226) value for a counter, as a zero-padded decimal string.
 * @param {CryptoKey} key from importSecret
 * @param {number} counter non-negative integer
 * @param {number} [digits]
 * @returns {Promise<string>}
 */
export async function hotp(key, counter, digits = DIGITS) {
  const msg = new Uint8Array(8);
  // 8-byte big-endian counter; JS bit operators are 32-bit, so split high and low words.
  let hi = Math.floor(counter / 2 ** 32);
  let lo = counter >>> 0;
  for (let i = 7; i >= 4; i--) { msg[i] = lo & 0xff; lo >>>= 8; }
  for (let i = 3; i >= 0; i--) { msg[i] = hi & 0xff; hi >>>= 8; }
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, msg));
  const off = mac[mac.length - 1] & 0x0f;
  const bin = ((mac[off] & 0x7f) << 24) | (mac[off + 1] << 16) | (mac[off + 2] << 8) | mac[off + 3];
  return String(bin % 10 ** digits).padStart(digits, '0');
}

/**
 * TOTP value at a Unix time given in seconds.
 * @param {CryptoKey} key from importSecret
 * @param {number} unixSeconds
 * @param {number} [digits]
 */
export function totp(key, unixSeconds, digits = DIGITS) {
  return hotp(key, Math.floor(unixSeconds / PERIOD_SECONDS), digits);
}

/** Card code text: prefix, the 6-digit TOTP, then the server's opaque signed part. */
export function cardCode(totpValue, signedPart) {
  return CARD_PREFIX + totpValue + signedPart;
}

// The offline decision in the browser, the same as the Go package internal/offline: from
// keys.json, the signed status list (docs/credential-format.md section 13) and the device's
// clock, decide about a card (format 1 or 2) or a guest pass without the server. WebCrypto
// checks the issuer's Ed25519 signatures and the device's ECDSA P-256 signatures. An ES module
// with no DOM use, so node's test runner checks it against the document's test vectors.

export const DEFAULT_MAX_AGE_MS = 15 * 60 * 1000;
const STEP_WINDOW = 1;
const B45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
const subtle = () => globalThis.crypto.subtle;

/** Strict RFC 9285 base45 decoding; null when the text is not canonical base45. */
export function base45Decode(text) {
  if (text.length % 3 === 1) return null;
  const out = new Uint8Array(Math.floor(text.length / 3) * 2 + (text.length % 3 ? 1 : 0));
  let o = 0;
  for (let i = 0; i < text.length; i += 3) {
    const chunk = text.slice(i, i + 3);
    let n = 0;
    for (let j = chunk.length - 1; j >= 0; j--) {
      const v = B45.indexOf(chunk[j]);
      if (v < 0) return null;
      n = n * 45 + v;
    }
    if (chunk.length === 3) {
      if (n > 0xffff) return null;
      out[o++] = n >> 8;
      out[o++] = n & 0xff;
    } else {
      if (n > 0xff) return null;
      out[o++] = n;
    }
  }
  return out;
}

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const uuid = (b) => { const h = hex(b); return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`; };
const u32 = (b, i) => ((b[i] << 24) >>> 0) + (b[i + 1] << 16) + (b[i + 2] << 8) + b[i + 3];
const TIER = /^[a-z0-9_-]{1,16}$/;

/** Reads a v1 or v2 card message's common fields at their offsets; null when a rule fails. */
function cardFields(msg, tierAt) {
  const tierLen = msg[tierAt];
  if (tierAt + 1 + tierLen !== msg.length) return null;
  const tier = String.fromCharCode(...msg.subarray(tierAt + 1));
  const c = {
    kind: 'card', keyId: hex(msg.subarray(2, 10)), cardId: msg.subarray(10, 26),
    issuedAt: u32(msg, 26) * 1000, expiresAt: u32(msg, 30) * 1000, companions: msg[34], tier,
  };
  if (!TIER.test(tier) || c.cardId.every((x) => x === 0) || c.expiresAt <= c.issuedAt) return null;
  return c;
}

/** Parses a code text (v1 card, v1 guest pass or v2 card); null when it is malformed. */
export function parseCode(raw) {
  const code = String(raw).replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
  if (code.startsWith('AP2:C')) {
    const live = base45Decode(code.slice(5, 107));
    const body = code.length > 107 ? base45Decode(code.slice(107)) : null;
    if (!live || live.length !== 68 || !body || body.length < 134 || body.length > 149) return null;
    const msg = body.subarray(0, body.length - 64);
    if (msg[0] !== 2 || msg[1] !== 0x43) return null;
    const c = cardFields(msg, 68);
    if (!c || (msg[35] !== 2 && msg[35] !== 3)) return null;
    return { ...c, format: 2, deviceKey: msg.subarray(35, 68), step: u32(live, 0), deviceSig: live.subarray(4), msg, sig: body.subarray(body.length - 64) };
  }
  if (code.startsWith('AP1:C')) {
    if (!/^\d{6}$/.test(code.slice(5, 11))) return null;
    const body = base45Decode(code.slice(11));
    if (!body || body.length < 101 || body.length > 116) return null;
    const msg = body.subarray(0, body.length - 64);
    if (msg[0] !== 1 || msg[1] !== 0x43) return null;
    const c = cardFields(msg, 35);
    return c && { ...c, format: 1, msg, sig: body.subarray(body.length - 64) };
  }
  if (code.startsWith('AP1:G')) {
    const body = base45Decode(code.slice(5));
    if (!body || body.length !== 117) return null;
    const msg = body.subarray(0, 53);
    if (msg[0] !== 1 || msg[1] !== 0x47) return null;
    const g = {
      kind: 'guest', format: 1, keyId: hex(msg.subarray(2, 10)), passId: msg.subarray(10, 26), hostCardId: msg.subarray(26, 42),
      validFrom: u32(msg, 42) * 1000, validUntil: u32(msg, 46) * 1000, maxUses: (msg[50] << 8) + msg[51], partySize: msg[52],
      msg, sig: body.subarray(53),
    };
    if (g.passId.every((x) => x === 0) || g.hostCardId.every((x) => x === 0) || g.validUntil <= g.validFrom || !g.maxUses || !g.partySize) return null;
    return g;
  }
  return null;
}

// ---- keys -----------------------------------------------------------------------------------

function b64url(s) {
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}

/** Imports keys.json: a Map of kid → Ed25519 CryptoKey, skipping keys whose kid is not theirs. */
export async function importKeys(json) {
  const keys = new Map();
  for (const j of (json && json.keys) || []) {
    if (j.kty !== 'OKP' || j.crv !== 'Ed25519' || j.use !== 'sig') continue;
    const x = b64url(j.x || '');
    if (x.length !== 32) continue;
    const kid = hex(new Uint8Array(await subtle().digest('SHA-256', x)).subarray(0, 8));
    if (kid !== j.kid) continue;
    keys.set(kid, await subtle().importKey('raw', x, { name: 'Ed25519' }, false, ['verify']));
  }
  return keys;
}

// ---- P-256: decompress a device key (y² = x³ − 3x + b mod p; p ≡ 3 mod 4) ----------------------

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
function modpow(b, e, m) {
  let r = 1n; b %= m;
  for (; e > 0n; e >>= 1n) { if (e & 1n) r = (r * b) % m; b = (b * b) % m; }
  return r;
}
function big(bytes) { return BigInt(`0x${hex(bytes) || '0'}`); }
function bytes32(n) { return Uint8Array.from(n.toString(16).padStart(64, '0').match(/../g), (h) => parseInt(h, 16)); }

/** Imports a compressed P-256 public key for ECDSA verification; null when it is not a point. */
export async function importDeviceKey(compressed) {
  const x = big(compressed.subarray(1));
  if (x >= P) return null;
  const rhs = (((x * x * x - 3n * x + B) % P) + P) % P;
  let y = modpow(rhs, (P + 1n) / 4n, P);
  if ((y * y) % P !== rhs) return null;
  if (Number(y & 1n) !== (compressed[0] & 1)) y = P - y;
  const raw = new Uint8Array(65);
  raw[0] = 4; raw.set(bytes32(x), 1); raw.set(bytes32(y), 33);
  return subtle().importKey('raw', raw, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
}

// ---- the status list: each section a sorted Uint8Array of 16-byte ids (16 MB at a million) ----

/** Compares the 16-byte ids at a[i..] and b[j..]. */
function cmpAt(a, i, b, j) {
  for (let k = 0; k < 16; k++) {
    const d = a[i + k] - b[j + k];
    if (d) return d;
  }
  return 0;
}

/** Whether a sorted section holds the 16-byte id. */
function has(section, id) {
  let lo = 0;
  let hi = section.length / 16;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = cmpAt(section, mid * 16, id, 0);
    if (c === 0) return true;
    if (c < 0) lo = mid + 1; else hi = mid;
  }
  return false;
}

/** Parses and verifies a signed status list (ArrayBuffer or Uint8Array) with keys; null if bad. */
export async function parseStatusList(buf, keys) {
  const b = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  if (b.length < 34 + 16 + 64 || String.fromCharCode(...b.subarray(0, 4)) !== 'APSL' || b[4] !== 1) return null;
  const delta = b[5] === 0x44;
  if (!delta && b[5] !== 0x46) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const l = {
    delta, keyId: hex(b.subarray(6, 14)), issuedAt: dv.getUint32(14) * 1000,
    seq: Number(dv.getBigUint64(18)), since: Number(dv.getBigUint64(26)), sections: [],
  };
  let off = 34;
  for (let s = 0; s < 4; s++) {
    if (off + 4 > b.length - 64) return null;
    const n = dv.getUint32(off); off += 4;
    if (off + n * 16 > b.length - 64) return null;
    const ids = b.slice(off, off + n * 16);
    for (let i = 16; i < ids.length; i += 16) if (cmpAt(ids, i - 16, ids, i) >= 0) return null;
    l.sections.push(ids);
    off += n * 16;
  }
  if (off !== b.length - 64) return null;
  const key = keys.get(l.keyId);
  if (!key || !(await subtle().verify({ name: 'Ed25519' }, key, b.subarray(b.length - 64), b.subarray(0, b.length - 64)))) return null;
  return l;
}

/** Drops from a sorted section the ids the delta mentions and merges in add (sorted). */
function merge(base, add, d) {
  const out = new Uint8Array(base.length + add.length);
  let o = 0;
  let j = 0;
  for (let i = 0; i < base.length; i += 16) {
    const id = base.subarray(i, i + 16);
    if (d.sections.some((s) => has(s, id))) continue;
    while (j < add.length && cmpAt(add, j, base, i) < 0) { out.set(add.subarray(j, j + 16), o); o += 16; j += 16; }
    out.set(id, o); o += 16;
  }
  out.set(add.subarray(j), o);
  o += add.length - j;
  return out.slice(0, o);
}

/** Applies a verified delta to a verified full state; null when it does not continue it. */
export function applyDelta(full, d) {
  if (full.delta || !d.delta || d.since !== full.seq) return null;
  const sections = [0, 1, 2].map((i) => merge(full.sections[i], d.sections[i], d));
  sections.push(new Uint8Array(0));
  return { delta: false, keyId: d.keyId, issuedAt: d.issuedAt, seq: d.seq, since: 0, sections };
}

function statusOf(list, id) {
  if (has(list.sections[0], id) || has(list.sections[2], id)) return 'revoked';
  if (has(list.sections[1], id)) return 'suspended';
  return '';
}

// ---- the decision ---------------------------------------------------------------------------

/**
 * Decides about a code offline. keys from importKeys, status from parseStatusList/applyDelta
 * (a full state), nowMs the device's time. Returns {result, offline: true, ...} with result one
 * of valid, invalid, unknown_key, expired, not_yet_valid, revoked, suspended, stale,
 * freshness_unknown (a version 1 card: only the server can check its TOTP) and data_too_old.
 */
export async function decide(keys, status, code, nowMs, { maxAgeMs = DEFAULT_MAX_AGE_MS } = {}) {
  const v = { result: '', offline: true, freshness_checked: false, data_age_seconds: status ? Math.floor((nowMs - status.issuedAt) / 1000) : null };
  const p = parseCode(code);
  if (!p) return { ...v, result: 'invalid' };
  Object.assign(v, { format: p.format, kind: p.kind === 'card' ? 'member' : 'guest', tier: p.tier });
  const key = keys.get(p.keyId);
  if (!key) return { ...v, result: 'unknown_key' };
  if (!(await subtle().verify({ name: 'Ed25519' }, key, p.sig, p.msg))) return { ...v, result: 'invalid' };
  if (p.format === 2) {
    const dk = await importDeviceKey(p.deviceKey);
    const signed = new Uint8Array(38);
    signed.set(new TextEncoder().encode('alumnipass/v2/step'));
    signed.set(p.cardId, 18);
    new DataView(signed.buffer).setUint32(34, p.step);
    if (!dk || !(await subtle().verify({ name: 'ECDSA', hash: 'SHA-256' }, dk, p.deviceSig, signed))) return { ...v, result: 'invalid' };
  }
  if (!status || nowMs - status.issuedAt > maxAgeMs || status.issuedAt - nowMs > 60000) return { ...v, result: 'data_too_old' };
  const [from, until] = p.kind === 'card' ? [p.issuedAt, p.expiresAt] : [p.validFrom, p.validUntil];
  if (nowMs < from) return { ...v, result: 'not_yet_valid' };
  if (nowMs >= until) return { ...v, result: 'expired' };
  if (p.format === 2) {
    const off = p.step - Math.floor(nowMs / 30000);
    if (Math.abs(off) > STEP_WINDOW) return { ...v, result: 'stale', offset_seconds: off * 30 };
  }
  const listed = p.kind === 'card' ? statusOf(status, p.cardId) : statusOf(status, p.passId) || statusOf(status, p.hostCardId);
  if (listed) return { ...v, result: listed };
  if (p.kind === 'card') v.card_id = uuid(p.cardId);
  else Object.assign(v, { pass_id: uuid(p.passId), party_size: p.partySize });
  if (p.format === 1 && p.kind === 'card') return { ...v, result: 'freshness_unknown', companions_allowed: p.companions };
  return { ...v, result: 'valid', freshness_checked: p.format === 2, companions_allowed: p.companions };
}

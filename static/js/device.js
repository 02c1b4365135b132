// The device-bound card (format version 2, docs/credential-format.md section 12): a P-256 key
// made with WebCrypto as non-extractable, kept in IndexedDB (a CryptoKey is stored as itself; its
// private half cannot be read out, exported or copied with the site's data), and the live code
// signed by it every 30 s. An ES module with no DOM use beyond indexedDB, so node's test runner
// can load the pure parts.

/** Prefix of a version 2 card code. */
export const CARD_PREFIX_V2 = 'AP2:C';
/** What the device signs before the card id and the step. */
export const SIGNATURE_PREFIX = 'alumnipass/v2/step';

const B45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';

/** RFC 9285 base45 of bytes. */
export function base45Encode(bytes) {
  let out = '';
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    let n = bytes[i] * 256 + bytes[i + 1];
    const c = n % 45; n = (n - c) / 45;
    const d = n % 45; const e = (n - d) / 45;
    out += B45[c] + B45[d] + B45[e];
  }
  if (bytes.length % 2) {
    const a = bytes[bytes.length - 1];
    out += B45[a % 45] + B45[Math.floor(a / 45)];
  }
  return out;
}

/** The 16 bytes of a UUID text. */
export function uuidBytes(id) {
  const hex = String(id).replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error('bad card id');
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The bytes the device signs for a step: prefix || card id || step (big-endian uint32). */
export function signedBytes(cardId, step) {
  const prefix = new TextEncoder().encode(SIGNATURE_PREFIX);
  const out = new Uint8Array(prefix.length + 20);
  out.set(prefix, 0);
  out.set(uuidBytes(cardId), prefix.length);
  new DataView(out.buffer).setUint32(prefix.length + 16, step >>> 0);
  return out;
}

/** Makes a new device key pair; the private key can sign but never be exported. */
export function newDeviceKey() {
  return crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
}

/** The public key in WebCrypto's raw form (65 bytes), base64url, as the server takes it. */
export async function exportPublic(publicKey) {
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', publicKey));
  let s = '';
  for (const b of raw) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The live version 2 code of a card at a step, signed by the device's private key. */
export async function cardCodeV2(privateKey, cardId, signedPartV2, step) {
  const sig = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, signedBytes(cardId, step)));
  return assembleV2(step, sig, signedPartV2);
}

/** The code text from a step, the raw 64-byte signature (r || s) and the signed part. */
export function assembleV2(step, sig, signedPartV2) {
  const live = new Uint8Array(4 + sig.length);
  new DataView(live.buffer).setUint32(0, step >>> 0);
  live.set(sig, 4);
  return CARD_PREFIX_V2 + base45Encode(live) + signedPartV2;
}

// ---- IndexedDB: one record per card id: {privateKey, publicKey, binding} ----------------------

const DB = 'alumnipass';
const STORE = 'device';

function openDB() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function tx(mode, fn) {
  return openDB().then((db) => new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const req = fn(t.objectStore(STORE));
    t.oncomplete = () => { db.close(); resolve(req && req.result); };
    t.onerror = () => { db.close(); reject(t.error); };
  }));
}

/** The stored device record of a card, or undefined. */
export function loadDevice(cardId) {
  return tx('readonly', (s) => s.get(cardId));
}

/** Stores a card's device record. */
export function saveDevice(cardId, record) {
  return tx('readwrite', (s) => s.put(record, cardId));
}

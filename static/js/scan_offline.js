// The scanner's offline mode: keeps keys.json and the signed status list (full, then deltas)
// in IndexedDB while online, decides locally with offline.js when the server cannot be reached,
// and queues those scans for POST /api/v1/verify/offline when the network returns.
import { importKeys, parseStatusList, applyDelta, decide, DEFAULT_MAX_AGE_MS } from './offline.js';

const DB = 'alumnipass-scan';
const STORE = 'offline';
const QUEUE = 'ap.offlineQueue';
const MAX_QUEUE = 500;

function idb(mode, fn) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const t = db.transaction(STORE, mode);
      const req = fn(t.objectStore(STORE));
      t.oncomplete = () => { db.close(); resolve(req && req.result); };
      t.onerror = () => { db.close(); reject(t.error); };
    };
  });
}

/** OfflineData is the scanner's copy of keys.json and the status list. */
export class OfflineData {
  constructor(maxAgeMs = DEFAULT_MAX_AGE_MS) {
    this.maxAgeMs = maxAgeMs;
    this.keysJSON = null;
    this.keys = null;
    this.state = null; // a full status list state (offline.js), current to state.seq
  }

  /** Loads what was saved; resolves false when there is nothing yet. */
  async load() {
    try {
      const saved = await idb('readonly', (s) => s.get('current'));
      if (!saved) return false;
      this.keysJSON = saved.keysJSON;
      this.keys = await importKeys(saved.keysJSON);
      this.state = saved.state;
      return true;
    } catch (err) {
      console.warn('offline data:', err);
      return false;
    }
  }

  /** Fetches keys.json and the status list (a delta when it can); resolves true when current. */
  async refresh() {
    try {
      const kr = await fetch('/.well-known/alumnipass/keys.json', { cache: 'no-store' });
      if (!kr.ok) return false;
      const keysJSON = await kr.json();
      const keys = await importKeys(keysJSON);
      let state = null;
      if (this.state) {
        const dr = await fetch(`/.well-known/alumnipass/status-list?since=${this.state.seq}`, { cache: 'no-store' });
        const d = dr.ok ? await parseStatusList(await dr.arrayBuffer(), keys) : null;
        state = d && applyDelta(this.state, d);
      }
      if (!state) {
        const fr = await fetch('/.well-known/alumnipass/status-list', { cache: 'no-store' });
        const full = fr.ok ? await parseStatusList(await fr.arrayBuffer(), keys) : null;
        if (!full || full.delta) return false;
        state = full;
      }
      this.keysJSON = keysJSON;
      this.keys = keys;
      this.state = state;
      await idb('readwrite', (s) => s.put({ keysJSON, state }, 'current'));
      return true;
    } catch {
      return false; // offline, or the server is down: keep what we have
    }
  }

  /** Milliseconds since the status list was issued, or null when there is none. */
  ageMs(now) {
    return this.state ? now - this.state.issuedAt : null;
  }

  /** True when the data may still be used to decide. */
  usable(now) {
    const age = this.ageMs(now);
    return age != null && age <= this.maxAgeMs && age >= -60000;
  }

  /** Decides a code offline (offline.js). */
  decide(code, now) {
    return decide(this.keys || new Map(), this.state, code, now, { maxAgeMs: this.maxAgeMs });
  }
}

/** The queue of scans decided offline, kept in localStorage until uploaded. */
export const queue = {
  all() {
    try { return JSON.parse(localStorage.getItem(QUEUE) || '[]'); } catch { return []; }
  },
  add(scan) {
    const q = queue.all();
    q.push(scan);
    try { localStorage.setItem(QUEUE, JSON.stringify(q.slice(-MAX_QUEUE))); } catch { /* full: keep the rest */ }
  },
  drop(n) {
    try { localStorage.setItem(QUEUE, JSON.stringify(queue.all().slice(n))); } catch { /* private mode */ }
  },
};

/**
 * Uploads the queue with api (scan.js's caller); resolves {sent, differs} or null when the
 * server could not take it now. At most 100 scans per request.
 */
export async function uploadQueue(api) {
  let sent = 0;
  let differs = 0;
  for (;;) {
    const batch = queue.all().slice(0, 100);
    if (batch.length === 0) return { sent, differs };
    const r = await api('POST', '/api/v1/verify/offline', { scans: batch });
    if (!r.ok || !r.body || !Array.isArray(r.body.results)) return sent ? { sent, differs } : null;
    queue.drop(batch.length);
    sent += batch.length;
    differs += r.body.results.filter((x) => x.differs).length;
  }
}

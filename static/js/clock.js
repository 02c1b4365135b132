// The server's clock as seen from the phone. Phone clocks drift or are set by hand; the TOTP on
// the card must follow the server's, so whenever the wallet is online it measures the offset with
// a round trip of its own and keeps the measurement for the offline visits that follow.
//
// Only a fresh, measured round trip is trusted: never a server time written into a page, since the
// service worker may serve a copy of the page fetched long ago. A measurement is dropped when it
// can no longer be trusted: when it is old, when the phone's clock jumped since (the wall clock and
// the monotonic clock disagree), or when the phone's clock is now earlier than when it was taken.
// With no trusted measurement the offset is 0: the phone's own clock, which phones that set their
// time automatically keep right.

const KEY = 'ap.clock';
const LEGACY_KEYS = ['ap.offset', 'ap.offsetAt', 'ap.renderSeen'];

/** A round trip slower than this is discarded: the offset would be uncertain by half of it. */
export const MAX_RTT_MS = 4000;
/** A stored measurement older than this is not used. */
export const MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** Wall-clock and monotonic time may disagree by this much before we call it a clock jump. */
export const JUMP_MS = 2000;

function load() {
  try {
    const m = JSON.parse(localStorage.getItem(KEY) || 'null');
    if (m && Number.isFinite(m.offset) && Number.isFinite(m.at) && Number.isFinite(m.rtt)) return m;
  } catch { /* private mode or garbage */ }
  return null;
}

function save(m) {
  try { localStorage.setItem(KEY, JSON.stringify(m)); } catch { /* private mode: keep in memory */ }
}

function forget() {
  try { localStorage.removeItem(KEY); } catch { /* private mode */ }
}

/** Whether a stored measurement may still be used at phone time nowMs. */
export function trusted(m, nowMs) {
  if (!m) return false;
  const age = nowMs - m.at;
  return age >= 0 && age <= MAX_AGE_MS && m.rtt <= MAX_RTT_MS;
}

/**
 * ServerClock gives Date.now() corrected by the last trusted measurement of the server's offset.
 * source says where the offset comes from: 'measured' (this visit), 'stored' (an earlier visit's
 * measurement, still trusted) or 'none' (no correction).
 */
export class ServerClock {
  constructor() {
    try { for (const k of LEGACY_KEYS) localStorage.removeItem(k); } catch { /* private mode */ }
    this.offset = 0;
    this.source = 'none';
    this.measurement = null;
    const m = load();
    if (trusted(m, Date.now())) {
      this.use(m, 'stored');
    } else if (m) {
      forget();
    }
    this.anchor(Date.now(), performance.now());
    this.onchange = null; // called when the offset in use changes outside sync()
  }

  use(m, source) {
    this.measurement = m;
    this.offset = m.offset;
    this.source = source;
  }

  anchor(wall, mono) {
    this.wallAt = wall;
    this.monoAt = mono;
  }

  /** Drops the offset when the phone's clock moved other than time passing. */
  checkJump() {
    const wall = Date.now();
    const mono = performance.now();
    const drift = (wall - this.wallAt) - (mono - this.monoAt);
    this.anchor(wall, mono);
    if (Math.abs(drift) <= JUMP_MS || this.source === 'none') return;
    this.offset = 0;
    this.source = 'none';
    this.measurement = null;
    forget();
    if (this.onchange) this.onchange();
  }

  /** Corrected current time in Unix milliseconds. */
  now() {
    this.checkJump();
    return Date.now() + this.offset;
  }

  /**
   * Measures the offset against GET /api/v1/time?client_ms=T0, which answers {"unix_ms": S,
   * "client_ms": T0}. The server's reading is taken to be at the midpoint of the round trip:
   * offset = S - (T0 + T1) / 2. The answer must echo this request's T0 (so it cannot be a copy
   * from some cache), and the round trip must be short and free of clock jumps. Resolves true on
   * success, false when offline, refused or untrustworthy.
   */
  async sync(url = '/api/v1/time') {
    try {
      this.checkJump();
      const t0 = Date.now();
      const p0 = performance.now();
      const res = await fetch(`${url}?client_ms=${t0}`, { cache: 'no-store', credentials: 'same-origin' });
      const body = res.ok ? await res.json() : null;
      const t1 = Date.now();
      const p1 = performance.now();
      if (!body) return false;
      const server = Number(body.unix_ms);
      const rtt = p1 - p0;
      if (!Number.isFinite(server) || Number(body.client_ms) !== t0) return false;
      if (rtt > MAX_RTT_MS || Math.abs((t1 - t0) - rtt) > JUMP_MS) return false;
      const m = { offset: Math.round(server - (t0 + t1) / 2), rtt: Math.round(rtt), at: t1 };
      this.use(m, 'measured');
      this.anchor(t1, p1);
      save(m);
      return true;
    } catch {
      return false;
    }
  }
}

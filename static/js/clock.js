// The server's clock as seen from the phone. Phone clocks drift or are set by hand; the TOTP on
// the card must follow the server's, so every time the wallet is online it measures the offset
// and keeps it in localStorage for the offline visits that follow.

const KEY_OFFSET = 'ap.offset';
const KEY_OFFSET_AT = 'ap.offsetAt';
const KEY_RENDER_SEEN = 'ap.renderSeen';

function readNumber(key) {
  try {
    const v = Number(localStorage.getItem(key));
    return localStorage.getItem(key) !== null && Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

function write(key, value) {
  try { localStorage.setItem(key, String(value)); } catch { /* private mode: keep in memory */ }
}

/** Local time (ms) at which this document's response began to arrive. */
function documentArrivalMs() {
  try {
    const nav = performance.getEntriesByType('navigation')[0];
    if (nav && nav.responseStart > 0) return performance.timeOrigin + nav.responseStart;
  } catch { /* old browsers */ }
  return Date.now();
}

/**
 * ServerClock gives Date.now() corrected by the last known server offset.
 *
 * Before any /api/v1/time answer, a freshly rendered page's server_time_ms is used. A page the
 * service worker served from its cache carries an old server_time_ms, which would put the clock
 * days back; such a page is recognised because its server_time_ms is not newer than the last
 * render this browser already saw, and the stored offset is used instead.
 */
export class ServerClock {
  /** @param {number} [serverTimeMs] server clock when the page was rendered */
  constructor(serverTimeMs) {
    const stored = readNumber(KEY_OFFSET);
    const seen = readNumber(KEY_RENDER_SEEN) || 0;
    this.offset = stored ?? 0;
    this.synced = false;
    if (Number.isFinite(serverTimeMs) && serverTimeMs > seen) {
      write(KEY_RENDER_SEEN, serverTimeMs);
      const fromRender = serverTimeMs - documentArrivalMs();
      // A measured offset is more precise than one taken across render and transfer; keep it
      // unless the page says the clock has moved since.
      if (stored === null || Math.abs(fromRender - stored) > 3000) {
        this.offset = fromRender;
        write(KEY_OFFSET, Math.round(fromRender));
      }
    }
  }

  /** Corrected current time in Unix milliseconds. */
  now() {
    return Date.now() + this.offset;
  }

  /**
   * Measures the offset against GET /api/v1/time ({"unix_ms": N}), taking the server's reading
   * to be at the request's midpoint. Resolves true on success, false when offline or refused.
   */
  async sync(url = '/api/v1/time') {
    try {
      const t0 = Date.now();
      const res = await fetch(url, { cache: 'no-store', credentials: 'same-origin' });
      const t1 = Date.now();
      if (!res.ok) return false;
      const body = await res.json();
      const server = Number(body && body.unix_ms);
      if (!Number.isFinite(server) || t1 - t0 > 15000) return false;
      this.offset = server - (t0 + t1) / 2;
      this.synced = true;
      write(KEY_OFFSET, Math.round(this.offset));
      write(KEY_OFFSET_AT, t1);
      return true;
    } catch {
      return false;
    }
  }
}

// Small helpers every page script shares: the server's page data, its messages, CSRF-protected
// JSON requests and local date formatting. No DOM is touched on import.

/**
 * Reads the JSON in <script type="application/json" id="page-data">. html/template may emit it
 * as a JSON string literal (when the json func returns a plain string), so a string result is
 * parsed once more.
 */
export function pageData(id = 'page-data') {
  const el = document.getElementById(id);
  if (!el) return {};
  try {
    let data = JSON.parse(el.textContent || '{}');
    if (typeof data === 'string') data = JSON.parse(data);
    return data && typeof data === 'object' ? data : {};
  } catch {
    return {};
  }
}

/**
 * Returns a lookup for the page's messages. Keys are tried as given ("wallet.offline") and
 * without their page prefix ("offline"); "{name}" placeholders are filled from vars.
 * The fallback is used when the catalogue has no entry.
 */
export function messages(map, prefix) {
  const m = map || {};
  return (key, vars, fallback) => {
    let s = m[key];
    if (s == null && prefix && key.startsWith(prefix + '.')) s = m[key.slice(prefix.length + 1)];
    if (s == null) s = fallback != null ? fallback : key;
    if (vars) s = s.replace(/\{(\w+)\}/g, (all, k) => (vars[k] != null ? String(vars[k]) : all));
    return s;
  };
}

/** The CSRF token the layout puts in <meta name="csrf-token">. */
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : '';
}

/**
 * Sends a JSON request and returns {status, ok, body}. body is the parsed JSON (or null).
 * Network failures reject; HTTP errors do not.
 */
export async function requestJSON(method, url, payload, headers = {}) {
  const init = {
    method,
    credentials: 'same-origin',
    headers: { Accept: 'application/json', ...headers },
  };
  if (method !== 'GET' && method !== 'HEAD') {
    init.headers['X-CSRF-Token'] = csrfToken();
    if (payload !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(payload);
    }
  }
  const res = await fetch(url, init);
  let body = null;
  try { body = await res.json(); } catch { body = null; }
  return { status: res.status, ok: res.ok, body };
}

/** The human message of an API error body {"error":{"code","message"}}, or the fallback. */
export function errorMessage(body, fallback) {
  return (body && body.error && body.error.message) || fallback;
}

/** Formats an RFC 3339 time for people in the page's language; returns '' when unparsable. */
export function formatDateTime(value, lang, withTime = true) {
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return '';
  const opts = withTime
    ? { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }
    : { year: 'numeric', month: 'short', day: 'numeric' };
  try {
    return new Intl.DateTimeFormat(lang === 'ja' ? 'ja-JP' : 'en-GB', opts).format(d);
  } catch {
    return d.toLocaleString();
  }
}

/**
 * Rewrites the text of every <time class="js-dt" datetime="..."> under root in local time;
 * data-date-only shows only the date. The server renders the raw value for pages without JS.
 */
export function localizeTimes(root, lang) {
  for (const el of root.querySelectorAll('time.js-dt[datetime]')) {
    const s = formatDateTime(el.getAttribute('datetime'), lang, !el.hasAttribute('data-date-only'));
    if (s) el.textContent = s;
  }
}

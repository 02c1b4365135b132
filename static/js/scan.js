// The staff scanner (/scan): pairs the device, reads codes from the camera or a keyboard-wedge
// handheld scanner, asks POST /api/v1/verify, shows the answer full screen in one colour, and
// records the redemption (POST /api/v1/redemptions with an Idempotency-Key).
import { pageData, messages, csrfToken, formatDateTime } from './page.js';
import { OfflineData, queue as offlineQueue, uploadQueue } from './scan_offline.js';

const data = pageData();
const lang = document.documentElement.lang || 'ja';
const msg = messages(data.messages, 'scan');
const $ = (id) => document.getElementById(id);

const KEY = 'ap.deviceKey';
const VENUE = 'ap.venue';
const PARTNER = 'ap.partner';
const SOUND = 'ap.sound';
const CAMERA = 'ap.camera';
const OFFLINE_LIMIT = 'ap.offlineMaxAgeMs';

const CAMERA_INTERVAL_MS = 150;
const CAMERA_DEBOUNCE_MS = 3000;
const VERIFY_TIMEOUT_MS = 8000;
const RECORD_TIMEOUT_MS = 10000;
const WARN_RESULTS = new Set(['stale', 'not_eligible', 'not_yet_valid', 'rate_limited']);
const OFFLINE_REFRESH_MS = 60 * 1000;

/** A message with a count: the "<key>.one" form for 1 when the catalogue has it ("1 companion"). */
function plural(key, n) {
  const one = n === 1 ? msg(`${key}.one`, { n }, '') : '';
  return one || msg(key, { n });
}

/** A perk's title in the page's language (title_en on an English page when it was written). */
function perkTitle(p) {
  return lang === 'en' && p.title_en ? p.title_en : p.title;
}

/** A refusal of the API in the page's language, by its error code; never the server's English. */
function refusalText(body, fallbackKey) {
  const code = body && body.error && body.error.code;
  return msg(code ? `scan.error.${code}` : fallbackKey, null, msg(fallbackKey));
}

const store = {
  get(k) { try { return localStorage.getItem(k); } catch { return null; } },
  set(k, v) { try { localStorage.setItem(k, v); } catch { /* private mode */ } },
  del(k) { try { localStorage.removeItem(k); } catch { /* private mode */ } },
};

const state = {
  view: 'pair',          // pair | ready | result
  seq: 0,                // latest verify request; older answers are dropped
  answer: null,          // the valid verify body being redeemed
  perkId: null,
  party: 1,
  partyMax: 1,
  awaitingRecord: false, // a valid answer not yet recorded: the camera pauses
  unpaired: false,       // a 401 was seen: pair again after the answer is dismissed
  attempt: null,         // {sig, key, final} of the last record tap, for idempotent retries
  lastCamera: { code: '', at: 0 },
};

const wedge = $('wedge');

// ---- views ----------------------------------------------------------------------------------

function showPair(reason) {
  state.view = 'pair';
  stopCamera();
  $('result').hidden = true;
  $('ready').hidden = true;
  $('wedge-bar').hidden = true;
  $('forget-device').hidden = true;
  $('camera-toggle').hidden = true;
  $('pair').hidden = false;
  const err = $('pair-error');
  err.hidden = !reason;
  err.textContent = reason || '';
  $('pair-code').focus();
}

function showReady() {
  state.view = 'ready';
  state.awaitingRecord = false;
  state.answer = null;
  $('pair').hidden = true;
  $('result').hidden = true;
  $('ready').hidden = false;
  $('wedge-bar').hidden = false;
  $('forget-device').hidden = false;
  $('camera-toggle').hidden = false;
  $('sound-toggle').hidden = false;
  $('venue-name').textContent = data.venue_name || store.get(VENUE) || '';
  $('partner-name').textContent = data.partner_name || store.get(PARTNER) || '';
  if (store.get(CAMERA) !== 'off') startCamera();
  focusWedge();
  startOffline();
}

// ---- offline: keys.json and the signed status list, decided locally without a network ------

// The partner's limit on the age of offline data, learnt from devices/me
// when online and kept for offline reloads; 15 minutes until then.
const offline = new OfflineData(Number(store.get(OFFLINE_LIMIT)) || Number(data.offline_max_age_ms) || undefined);
let offlineStarted = false;

function startOffline() {
  if (offlineStarted) return;
  offlineStarted = true;
  offline.load().then(() => { showDataAge(); refreshOffline(); });
  setInterval(refreshOffline, OFFLINE_REFRESH_MS);
  setInterval(showDataAge, 10 * 1000);
  addEventListener('online', refreshOffline);
}

async function refreshOffline() {
  if (await offline.refresh()) showDataAge();
  await learnOfflineLimit();
  await flushOfflineQueue();
}

/** Takes the partner's offline limit from devices/me, when the server answers. */
async function learnOfflineLimit() {
  const r = await api('GET', '/api/v1/devices/me');
  const secs = r.ok && r.body ? Number(r.body.offline_max_age_seconds) : 0;
  if (secs > 0) {
    offline.maxAgeMs = secs * 1000;
    store.set(OFFLINE_LIMIT, String(secs * 1000));
    document.body.dataset.offlineMaxAge = String(secs);
    showDataAge();
  }
}

/** Uploads scans decided offline; the server records them and reports replays. */
let flushing = false;
async function flushOfflineQueue() {
  if (flushing || offlineQueue.all().length === 0) return;
  flushing = true;
  const r = await uploadQueue(api).finally(() => { flushing = false; });
  if (r) {
    const b = document.body.dataset;
    b.offlineUploaded = String((Number(b.offlineUploaded) || 0) + r.sent);
    b.offlineDiffers = String((Number(b.offlineDiffers) || 0) + r.differs);
  }
  showDataAge();
}

/** Shows how old the offline data is, in plain words, and what waits to be uploaded. */
function showDataAge() {
  const el = $('offline-data');
  const now = Date.now();
  const age = offline.ageMs(now);
  el.hidden = age == null;
  if (age == null) return;
  const minutes = Math.max(0, Math.floor(age / 60000));
  el.dataset.ageSeconds = String(Math.floor(age / 1000));
  el.dataset.usable = offline.usable(now) ? 'true' : 'false';
  el.dataset.seq = String(offline.state.seq);
  let text = offline.usable(now) ? plural('scan.offline.age', minutes) : msg('scan.offline.too_old', { n: minutes });
  const waiting = offlineQueue.all().length;
  if (waiting) text += ` ${plural('scan.offline.queued', waiting)}`;
  el.textContent = text;
}

/** An offline verdict as an answer to show: never a record, always marked as offline. */
function offlineAnswer(v) {
  let tone = 'bad';
  if (v.result === 'valid') tone = 'ok';
  else if (['freshness_unknown', 'stale', 'not_yet_valid'].includes(v.result)) tone = 'warn';
  return {
    result: v.result, tone, offline: v,
    body: { kind: v.kind, tier: v.tier, companions_allowed: v.companions_allowed, party_size: v.party_size, offset_seconds: v.offset_seconds },
  };
}

// ---- keyboard wedge -------------------------------------------------------------------------

function focusWedge() {
  if (state.view === 'pair') return;
  const a = document.activeElement;
  if (a === wedge) return;
  if (a && a !== document.body && (a.tagName === 'INPUT' || a.tagName === 'TEXTAREA' || a.tagName === 'SELECT')) return;
  wedge.focus({ preventScroll: true });
}

wedge.addEventListener('keydown', (e) => {
  // scanners end a code with Enter (most) or Tab (some)
  if (e.key === 'Enter' || (e.key === 'Tab' && wedge.value.trim())) {
    e.preventDefault();
    const code = wedge.value;
    wedge.value = '';
    verify(code, 'wedge');
  }
});
wedge.addEventListener('blur', () => setTimeout(focusWedge, 0));
document.addEventListener('click', () => setTimeout(focusWedge, 0));
setInterval(focusWedge, 1000);

// ---- API ------------------------------------------------------------------------------------

/** Calls the API with the device key; resolves {status, ok, body}, status 0 on network failure. */
async function api(method, url, payload, headers = {}, timeoutMs = VERIFY_TIMEOUT_MS) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  try {
    const h = { Accept: 'application/json', 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken(), ...headers };
    const key = store.get(KEY);
    if (key) h.Authorization = `Bearer ${key}`;
    const res = await fetch(url, {
      method, headers: h, body: JSON.stringify(payload), signal: ctrl.signal, credentials: 'same-origin', cache: 'no-store',
    });
    let body = null;
    try { body = await res.json(); } catch { body = null; }
    return { status: res.status, ok: res.ok, body };
  } catch {
    return { status: 0, ok: false, body: null };
  } finally {
    clearTimeout(timer);
  }
}

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ---- pairing --------------------------------------------------------------------------------

$('pair-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = $('pair-code');
  const code = input.value.replace(/\s+/g, '').toUpperCase();
  const err = $('pair-error');
  if (!code) {
    err.textContent = msg('scan.pair.empty');
    err.hidden = false;
    input.focus();
    return;
  }
  const button = $('pair-submit');
  button.disabled = true;
  err.hidden = true;
  store.del(KEY);
  const r = await api('POST', '/api/v1/devices/pair', { code });
  button.disabled = false;
  if (r.ok && r.body && r.body.key) {
    store.set(KEY, r.body.key);
    store.set(VENUE, r.body.venue_name || '');
    store.set(PARTNER, r.body.partner_name || '');
    data.venue_name = r.body.venue_name || data.venue_name;
    data.partner_name = r.body.partner_name || data.partner_name;
    input.value = '';
    showReady();
    return;
  }
  let text;
  if (r.status === 0) text = msg('scan.pair.offline');
  else if (r.status === 429) text = msg('scan.reason.rate_limited');
  else text = msg('scan.pair.error');
  err.textContent = text;
  err.hidden = false;
  input.select();
});

$('forget-device').addEventListener('click', () => {
  if (!confirm(msg('scan.forget_confirm'))) return;
  forget();
  showPair();
});

function forget() {
  store.del(KEY);
  store.del(VENUE);
  store.del(PARTNER);
  data.venue_name = '';
  data.partner_name = '';
  $('venue-name').textContent = '';
  $('partner-name').textContent = '';
}

// ---- verify ---------------------------------------------------------------------------------

async function verify(raw, source) {
  const code = String(raw).trim();
  if (!code || state.view === 'pair') return;
  if (source === 'camera') {
    const now = Date.now();
    const same = code === state.lastCamera.code && now - state.lastCamera.at < CAMERA_DEBOUNCE_MS;
    state.lastCamera = { code, at: now }; // a code held in view stays debounced
    if (same || state.awaitingRecord) return;
  }
  const seq = ++state.seq;
  $('busy').hidden = false;
  const r = await api('POST', '/api/v1/verify', { code });
  if (seq !== state.seq) return;
  if (r.status === 0) {
    // No network: decide locally, say so, and queue the scan for the server.
    const now = Date.now();
    const v = await offline.decide(code, now);
    if (seq !== state.seq) return;
    $('busy').hidden = true;
    offlineQueue.add({ code, scanned_at: new Date(now).toISOString(), offline_result: v.result });
    showAnswer(offlineAnswer(v));
    showDataAge();
    return;
  }
  $('busy').hidden = true;
  showAnswer(classify(r));
  flushOfflineQueue();
}

/** Maps an HTTP answer to {result, tone, body}; tone is ok (green), warn (amber) or bad (red). */
function classify({ status, body }) {
  if (status === 200 && body && typeof body.result === 'string') {
    const r = body.result;
    let tone = 'bad';
    // green only when a perk can be used now: a limit already used is a refusal, a
    // redemption already recorded for this scan (a re-scan) is a warning
    if (r === 'valid' && body.usable === false) tone = body.redeemed ? 'warn' : 'bad';
    else if (r === 'valid') tone = body.repeat ? 'warn' : 'ok';
    else if (WARN_RESULTS.has(r) || body.repeat) tone = 'warn';
    return { result: r, tone, body };
  }
  if (status === 503) return { result: 'unavailable', tone: 'bad', body };
  if (status === 429) return { result: 'rate_limited', tone: 'warn', body };
  if (status === 401) return { result: 'unpaired', tone: 'bad', body };
  if (status === 0) return { result: 'network_error', tone: 'bad', body };
  return { result: 'error', tone: 'bad', body };
}

function reasonText(a) {
  const b = a.body || {};
  if (b.unusable_reason && (a.result === 'valid' || a.result === 'not_eligible')) {
    return msg(`scan.unusable.${b.unusable_reason}`, null, msg('scan.reason.error'));
  }
  if (a.result === 'valid') return msg(b.kind === 'guest' ? 'scan.result.valid_guest' : 'scan.result.valid');
  if (a.result === 'error') return refusalText(b, 'scan.reason.error');
  const key = ['unavailable', 'rate_limited', 'unpaired', 'network_error'].includes(a.result)
    ? `scan.reason.${a.result}` : `scan.result.${a.result}`;
  return msg(key, null, msg('scan.reason.error'));
}

function detailText(a) {
  const b = a.body || {};
  const lines = [];
  if (a.result === 'stale') {
    // the server tells a wrong phone clock (far off, or ahead) from an old code
    const off = Math.abs(Number(b.offset_seconds) || 0);
    if (b.stale_cause === 'clock' && off >= 60) {
      const ahead = Number(b.offset_seconds) > 0;
      lines.push(off >= 5400
        ? plural(ahead ? 'scan.stale.clock_ahead_hours' : 'scan.stale.clock_behind_hours', Math.round(off / 3600))
        : plural(ahead ? 'scan.stale.clock_ahead' : 'scan.stale.clock_behind', Math.round(off / 60)));
    } else {
      lines.push(msg('scan.stale.old_code'));
    }
  }
  if ((a.result === 'replayed' || a.result === 'used_up') && (b.first_used_at || b.first_venue)) {
    lines.push(msg('scan.first_use', {
      at: b.first_used_at ? formatDateTime(b.first_used_at, lang) || b.first_used_at : '—',
      venue: b.first_venue || '—',
    }));
  }
  if (b.redeemed && Array.isArray(b.redemptions)) {
    for (const r of b.redemptions) {
      const perk = (b.perks || []).find((p) => String(p.id) === String(r.perk_id));
      lines.push(plural('scan.recorded_at', Number(r.party_size) || 1)
        .replace('{at}', formatDateTime(r.at, lang) || r.at)
        .replace('{perk}', perk ? perkTitle(perk) : '—'));
    }
  } else if (b.repeat) lines.push(msg('scan.repeat'));
  if (a.result === 'valid' && !a.offline && (!Array.isArray(b.perks) || b.perks.length === 0)) lines.push(msg('scan.no_perks'));
  return lines.join(' ');
}

function showAnswer(a) {
  const el = $('result');
  const b = a.body || {};
  state.view = 'result';
  state.answer = null;
  state.awaitingRecord = false;
  el.dataset.result = a.result;
  el.dataset.tone = a.tone;
  el.dataset.repeat = b.repeat ? 'true' : 'false';
  el.dataset.usable = b.usable ? 'true' : 'false';
  el.dataset.redeemed = b.redeemed ? 'true' : 'false';
  el.className = `result tone-${a.tone}`;
  $('result-title').textContent = msg(`scan.title.${a.tone}`);
  $('result-reason').textContent = reasonText(a);
  el.dataset.offline = a.offline ? 'true' : 'false';
  let detail = detailText(a);
  if (a.offline) {
    const age = offline.ageMs(Date.now());
    const note = age == null ? msg('scan.offline.no_data') : plural('scan.offline.decided', Math.max(0, Math.floor(age / 60000)));
    detail = detail ? `${note} ${detail}` : note;
  }
  $('result-detail').textContent = detail;
  $('result-detail').hidden = !detail;

  const holder = $('result-holder');
  holder.hidden = !b.display_name;
  if (b.display_name) {
    $('result-name').textContent = b.display_name;
    const meta = [];
    // the name already says "guest" for a guest pass: no second label
    if (b.tier) meta.push(b.tier);
    if (b.kind === 'guest' && b.party_size) meta.push(plural('scan.guest_party', Number(b.party_size)));
    else if (b.companions_allowed != null && a.result === 'valid' && b.usable !== false) meta.push(plural('scan.companions', Number(b.companions_allowed)));
    $('result-meta').textContent = meta.join(' · ');
  }

  // a record is offered only when a perk can be used now and nothing was recorded for this scan
  const canRecord = a.result === 'valid' && b.verification_id != null && b.usable !== false && !b.redeemed
    && Array.isArray(b.perks) && b.perks.some((p) => p.usable !== false);
  // a valid answer lists its perks, each with whether it can be used now
  const showPerks = a.result === 'valid' && Array.isArray(b.perks) && b.perks.length > 0;
  $('redeem').hidden = !showPerks;
  if (showPerks) setupRedeem(b, canRecord);
  if (a.result === 'unpaired') {
    state.unpaired = true;
    forget();
  }
  el.hidden = false;
  el.scrollTop = 0;
  signal(a.tone);
}

function dismiss() {
  if (state.view !== 'result') return;
  $('result').hidden = true;
  if (state.unpaired) {
    state.unpaired = false;
    showPair(msg('scan.reason.unpaired'));
    return;
  }
  showReady();
}

$('result').addEventListener('click', (e) => {
  if (e.target.closest('button, a, input, output, .stepper, .perk-choices')) return;
  dismiss();
});
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') dismiss();
});

// ---- redemption -----------------------------------------------------------------------------

function setupRedeem(b, canRecord) {
  state.answer = canRecord ? b : null;
  state.awaitingRecord = canRecord;
  state.attempt = null;
  const box = $('perk-choices');
  box.textContent = '';
  for (const p of b.perks) {
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'perk-choice';
    btn.dataset.perkId = String(p.id);
    btn.setAttribute('aria-pressed', 'false');
    btn.textContent = perkTitle(p);
    const note = perkNote(p);
    if (note) {
      const small = document.createElement('small');
      small.className = 'perk-note';
      small.textContent = note;
      btn.append(small);
    }
    if (p.usable === false) btn.dataset.unusable = p.unusable_reason || 'true';
    btn.disabled = p.usable === false || !canRecord;
    box.append(btn);
  }
  state.perkId = null;
  const usable = b.perks.filter((p) => p.usable !== false);
  if (canRecord && usable.length === 1) selectPerk(String(usable[0].id));
  const guest = b.kind === 'guest';
  state.party = guest ? Math.max(1, Number(b.party_size) || 1) : 1;
  updateParty();
  const rec = $('recorded');
  rec.hidden = true;
  rec.className = 'recorded';
  const record = $('record');
  record.hidden = !canRecord;
  record.disabled = state.perkId == null;
  document.querySelector('#redeem .stepper').hidden = !canRecord;
}

/** Why a perk cannot be used now, or how many uses are left, in the page's language. */
function perkNote(p) {
  if (p.usable === false) return msg(`scan.perk_state.${p.unusable_reason}`, null, msg('scan.perk_state.unusable'));
  if (p.uses_left != null) return plural('scan.uses_left', Number(p.uses_left));
  return '';
}

function partyMax() {
  const b = state.answer;
  if (!b) return 1;
  const perk = b.perks.find((p) => String(p.id) === state.perkId);
  if (perk && perk.max_party != null) return Math.max(1, Number(perk.max_party) || 1);
  if (b.kind === 'guest') return Math.max(1, Number(b.party_size) || 1);
  let companions = Math.max(0, Number(b.companions_allowed) || 0);
  if (perk && perk.companions != null) companions = Math.min(companions, Math.max(0, Number(perk.companions) || 0));
  return 1 + companions;
}

function updateParty() {
  state.partyMax = partyMax();
  state.party = Math.min(Math.max(1, state.party), state.partyMax);
  const out = $('party-size');
  out.value = String(state.party);
  out.textContent = String(state.party);
  out.dataset.max = String(state.partyMax);
  $('party-minus').disabled = state.party <= 1;
  $('party-plus').disabled = state.party >= state.partyMax;
}

function selectPerk(id) {
  state.perkId = id;
  for (const btn of $('perk-choices').children) {
    btn.setAttribute('aria-pressed', btn.dataset.perkId === id ? 'true' : 'false');
  }
  $('record').disabled = false;
  updateParty();
}

$('perk-choices').addEventListener('click', (e) => {
  const btn = e.target.closest('.perk-choice');
  if (btn && !btn.disabled && !$('record').hidden) selectPerk(btn.dataset.perkId);
});
$('party-minus').addEventListener('click', () => { state.party -= 1; updateParty(); });
$('party-plus').addEventListener('click', () => { state.party += 1; updateParty(); });

$('record').addEventListener('click', async () => {
  const b = state.answer;
  if (!b || state.perkId == null) return;
  const perk = b.perks.find((p) => String(p.id) === state.perkId);
  const perkId = perk ? perk.id : state.perkId;
  const sig = `${b.verification_id}|${state.perkId}|${state.party}`;
  // the same tap retried after a failure keeps its key; a new choice gets a new one
  if (!state.attempt || state.attempt.sig !== sig || state.attempt.final) {
    state.attempt = { sig, key: uuid(), final: false };
  }
  const attempt = state.attempt;
  const button = $('record');
  const rec = $('recorded');
  button.disabled = true;
  rec.className = 'recorded';
  rec.textContent = msg('scan.recording');
  rec.hidden = false;
  const payload = { verification_id: b.verification_id, perk_id: perkId, party_size: state.party };
  let r = await api('POST', '/api/v1/redemptions', payload, { 'Idempotency-Key': attempt.key }, RECORD_TIMEOUT_MS);
  if (r.status === 0 || r.status >= 500) {
    // one quiet retry with the same key: a lost answer must not record twice
    r = await api('POST', '/api/v1/redemptions', payload, { 'Idempotency-Key': attempt.key }, RECORD_TIMEOUT_MS);
  }
  if (state.answer !== b) return; // a new scan replaced this answer
  if (r.ok) {
    attempt.final = true;
    state.awaitingRecord = false;
    rec.textContent = plural('scan.recorded', state.party);
    button.hidden = true;
    for (const btn of $('perk-choices').children) btn.disabled = true;
    $('party-minus').disabled = true;
    $('party-plus').disabled = true;
    signal('ok');
    return;
  }
  rec.className = 'recorded is-error';
  if (r.status === 0 || r.status >= 500) {
    rec.textContent = msg('scan.record_retry'); // keep the key for the next tap
  } else if (r.status === 401) {
    attempt.final = true;
    state.unpaired = true;
    forget();
    rec.textContent = msg('scan.reason.unpaired');
  } else {
    attempt.final = true;
    rec.textContent = r.status === 429 ? msg('scan.reason.rate_limited') : refusalText(r.body, 'scan.record_failed');
    if (r.status !== 429) refuse(rec.textContent); // the server will not honour it: the screen must not stay green
  }
  button.disabled = false;
  signal('bad');
});

/** Turns the answer on screen red after the server refused the record: no perk, no second try. */
function refuse(text) {
  const el = $('result');
  $('result-reason').textContent = text;
  $('recorded').hidden = true;
  document.querySelector('#redeem .stepper').hidden = true;
  for (const note of $('perk-choices').querySelectorAll('.perk-note')) note.hidden = true;
  el.dataset.tone = 'bad';
  el.dataset.refused = 'true';
  el.className = 'result tone-bad';
  $('result-title').textContent = msg('scan.title.bad');
  $('record').hidden = true;
  for (const btn of $('perk-choices').children) btn.disabled = true;
  $('party-minus').disabled = true;
  $('party-plus').disabled = true;
  state.awaitingRecord = false;
}

// ---- sound and vibration --------------------------------------------------------------------

let audio = null;
function unlockAudio() {
  const AC = window.AudioContext || window.webkitAudioContext;
  if (!audio && AC) audio = new AC();
  if (audio && audio.state === 'suspended') audio.resume().catch(() => {});
}
document.addEventListener('pointerdown', unlockAudio, { capture: true });
document.addEventListener('keydown', unlockAudio, { capture: true });

function beep(freq, ms, type, at, volume = 0.3) {
  const t = audio.currentTime + at;
  const osc = audio.createOscillator();
  const gain = audio.createGain();
  osc.type = type;
  osc.frequency.value = freq;
  gain.gain.setValueAtTime(0.0001, t);
  gain.gain.exponentialRampToValueAtTime(volume, t + 0.01);
  gain.gain.setValueAtTime(volume, t + ms / 1000 - 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, t + ms / 1000);
  osc.connect(gain).connect(audio.destination);
  osc.start(t);
  osc.stop(t + ms / 1000 + 0.02);
}

function signal(tone) {
  if (store.get(SOUND) !== 'off') {
    try {
      unlockAudio();
      if (audio) {
        if (tone === 'ok') { beep(1318, 120, 'sine', 0); beep(1760, 160, 'sine', 0.13); }
        else if (tone === 'warn') { beep(660, 140, 'triangle', 0); beep(660, 140, 'triangle', 0.22); }
        else beep(150, 450, 'square', 0, 0.2);
      }
    } catch { /* no audio output */ }
  }
  if (navigator.vibrate) {
    navigator.vibrate(tone === 'ok' ? 80 : tone === 'warn' ? [80, 80, 80] : [250, 100, 250]);
  }
}

function toggleButton(id, key, onChange) {
  const btn = $(id);
  const sync = () => btn.setAttribute('aria-pressed', store.get(key) === 'off' ? 'false' : 'true');
  sync();
  btn.addEventListener('click', () => {
    store.set(key, store.get(key) === 'off' ? 'on' : 'off');
    sync();
    if (onChange) onChange(store.get(key) !== 'off');
  });
}
toggleButton('sound-toggle', SOUND);
toggleButton('camera-toggle', CAMERA, (on) => (on ? startCamera() : stopCamera()));

// ---- camera ---------------------------------------------------------------------------------

const video = $('scan-video');
let stream = null;
let camTimer = 0;
let decoder = null;     // (video) => Promise<string|null>
let starting = false;

function cameraStatus(key) {
  const s = $('camera-status');
  s.textContent = key ? msg(key) : '';
  s.hidden = !key;
}

async function startCamera() {
  if (stream || starting || state.view === 'pair' || document.hidden) return;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    cameraStatus('scan.camera_unsupported');
    return;
  }
  starting = true;
  cameraStatus('scan.camera_starting');
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: 'environment', width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false,
    });
    if (store.get(CAMERA) === 'off' || state.view === 'pair') { stopCamera(); return; }
    video.srcObject = stream;
    await video.play().catch(() => {});
    decoder = decoder || (await makeDecoder());
    cameraStatus(null);
    clearTimeout(camTimer);
    camTimer = setTimeout(scanFrame, CAMERA_INTERVAL_MS);
  } catch (err) {
    stopCamera();
    cameraStatus(err && err.name === 'NotAllowedError' ? 'scan.camera_denied' : 'scan.camera_error');
  } finally {
    starting = false;
  }
}

function stopCamera() {
  clearTimeout(camTimer);
  if (stream) for (const t of stream.getTracks()) t.stop();
  stream = null;
  video.srcObject = null;
  if (store.get(CAMERA) === 'off') cameraStatus('scan.camera_off');
}

async function scanFrame() {
  if (!stream) return;
  if (video.readyState >= 2 && !state.awaitingRecord) {
    try {
      const text = await decoder(video);
      if (text) verify(text, 'camera');
    } catch { /* a bad frame */ }
  }
  camTimer = setTimeout(scanFrame, CAMERA_INTERVAL_MS);
}

/** The browser's BarcodeDetector when it reads QR codes, else the vendored jsQR. */
async function makeDecoder() {
  if ('BarcodeDetector' in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes('qr_code')) {
        const det = new window.BarcodeDetector({ formats: ['qr_code'] });
        return async (v) => {
          const found = await det.detect(v);
          return found.length ? found[0].rawValue : null;
        };
      }
    } catch { /* fall through to jsQR */ }
  }
  await loadScript('/static/vendor/jsqr/jsQR.min.js');
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  return async (v) => {
    const scale = Math.min(1, 640 / Math.max(v.videoWidth, v.videoHeight));
    const w = Math.round(v.videoWidth * scale);
    const h = Math.round(v.videoHeight * scale);
    if (!w || !h) return null;
    if (canvas.width !== w) canvas.width = w;
    if (canvas.height !== h) canvas.height = h;
    ctx.drawImage(v, 0, 0, w, h);
    const img = ctx.getImageData(0, 0, w, h);
    const found = window.jsQR(img.data, w, h, { inversionAttempts: 'dontInvert' });
    return found ? found.data : null;
  };
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    if (window.jsQR) { resolve(); return; }
    const s = document.createElement('script');
    s.src = src;
    s.onload = () => resolve();
    s.onerror = () => reject(new Error(`load ${src}`));
    document.head.append(s);
  });
}

document.addEventListener('visibilitychange', () => {
  if (document.hidden) stopCamera();
  else if (state.view !== 'pair' && store.get(CAMERA) !== 'off') startCamera();
});

// ---- start ----------------------------------------------------------------------------------

// A pairing QR opens /scan?pair=CODE: fill the code in and pair at once,
// then drop it from the address so a reload or a shared link cannot reuse it.
const pairFromLink = new URLSearchParams(location.search).get('pair');
if (pairFromLink) history.replaceState(null, '', location.pathname);

if (store.get(KEY)) showReady();
else {
  showPair();
  if (pairFromLink) {
    $('pair-code').value = pairFromLink;
    $('pair-form').requestSubmit();
  }
}

// ---- offline support: the service worker keeps this page and its code ---------------------

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((err) => console.warn('service worker:', err));
}

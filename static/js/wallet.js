// The alumnus's wallet (/w): draws the live card QR, rotating at every 30 s TOTP step on the
// server's clock, keeps working offline through the service worker, and manages guest passes.
import { base32Decode, importSecret, hotp, stepAt, msUntilNextStep, cardCode, PERIOD_SECONDS } from './totp.js';
import { ServerClock } from './clock.js';
import { newDeviceKey, exportPublic, cardCodeV2, loadDevice, saveDevice } from './device.js';
import { pageData, messages, requestJSON, errorMessage, formatDateTime, localizeTimes } from './page.js';

const data = pageData();
const lang = document.documentElement.lang || 'ja';
const msg = messages(data.messages, 'wallet');
const $ = (id) => document.getElementById(id);

const CLOCK_RESYNC_MS = 5 * 60 * 1000;

for (const el of document.querySelectorAll('[data-js]')) el.hidden = false;
localizeTimes(document, lang);

// The clock is corrected only by the wallet's own round trips to the server, never by a time in
// the page: the service worker may have served a copy of the page made long ago.
const clock = new ServerClock();
clock.onchange = () => { showClock(); setTimeout(syncClock, 0); };

// ---- online / offline ---------------------------------------------------------------------

let lastSyncFailed = false;
function showOnline() {
  const offline = !navigator.onLine || lastSyncFailed;
  $('offline').hidden = !offline;
  document.body.classList.toggle('is-offline', offline);
}

/** Puts where the clock correction comes from on the page (support staff and tests read it). */
function showClock() {
  document.body.dataset.clock = clock.source;
  document.body.dataset.clockOffset = String(Math.round(clock.offset));
}

async function syncClock() {
  const ok = await clock.sync();
  lastSyncFailed = !ok;
  showOnline();
  showClock();
  if (ok) card.tick();
}

// ---- the live card --------------------------------------------------------------------------

/** Card draws the rotating QR into #card-qr and the countdown under it. */
class Card {
  constructor(canvas) {
    this.canvas = canvas;
    this.step = null;
    this.code = '';
    this.key = null;
    this.timer = 0;
    this.qr = null; // lean-qr module, loaded on start
    this.expiresAt = data.expires_at ? Date.parse(data.expires_at) : NaN;
    this.stopped = false;
    this.ready = false; // set once the QR library and the key are loaded
  }

  async start() {
    try {
      this.qr = await import('../vendor/lean-qr/lean-qr.min.mjs');
      this.device = await this.setupDevice();
      if (!this.device && data.bound) {
        // Bound to a key this browser does not hold (a copy of the wallet's data, or the
        // browser's storage was cleared): no code can be made here.
        this.stop(msg('wallet.device_missing'));
        return;
      }
      if (!this.device && data.secret_b32 && data.signed_part) {
        this.key = await importSecret(base32Decode(data.secret_b32));
      }
    } catch (err) {
      this.fail(err);
      return;
    }
    addEventListener('resize', () => this.draw());
    this.ready = true;
    this.tick();
  }

  /** Redraws when the step changed, updates the countdown, and schedules the next tick. */
  async tick() {
    if (!this.ready || this.stopped) return;
    clearTimeout(this.timer);
    const now = clock.now();
    if (Number.isFinite(this.expiresAt) && now >= this.expiresAt) {
      this.stop(msg('wallet.status.expired'));
      return;
    }
    const step = stepAt(now);
    if (step !== this.step) {
      this.step = step;
      try {
        const code = this.device
          ? await cardCodeV2(this.device.privateKey, data.card_id, this.device.binding.signed_part_v2, step)
          : this.key ? cardCode(await hotp(this.key, step), data.signed_part) : await this.serverCode();
        if (this.step === step && code) {
          this.code = code;
          this.draw();
        }
      } catch (err) {
        this.step = null; // try again on the next tick
        if (!this.code) this.fail(err);
      }
    }
    const left = msUntilNextStep(clock.now());
    this.showCountdown(left);
    // wake at the next whole second of corrected time, and exactly at the step boundary
    const next = Math.min(left, 1000 - (clock.now() % 1000)) + 15;
    this.timer = setTimeout(() => this.tick(), Math.max(50, next));
  }

  /**
   * The device key of this card (format version 2): the stored one, or, on the first visit
   * while online, a new non-extractable P-256 key that the server then binds to the card. The
   * key is stored before it is sent, so a binding is never left without its key. Returns null
   * where WebCrypto or IndexedDB are missing, or while the binding cannot be made (offline):
   * the version 1 code is used until then.
   */
  async setupDevice() {
    if (!data.card_id || !globalThis.crypto?.subtle || !globalThis.indexedDB) return null;
    try {
      let rec = await loadDevice(data.card_id);
      if (rec && rec.binding) { document.body.dataset.cardFormat = '2'; return rec; }
      if (data.bound) return null;
      if (!rec) {
        const pair = await newDeviceKey();
        rec = { privateKey: pair.privateKey, publicKey: pair.publicKey, binding: null };
        await saveDevice(data.card_id, rec);
      }
      const r = await requestJSON('POST', '/api/v1/wallet/device', { public_key: await exportPublic(rec.publicKey) });
      if (!r.ok || !r.body || !r.body.signed_part_v2) return null;
      rec.binding = r.body;
      await saveDevice(data.card_id, rec);
      document.body.dataset.cardFormat = '2';
      return rec;
    } catch (err) {
      console.warn('device key:', err);
      return null;
    }
  }

  /** Without a secret the server computes the code (GET /api/v1/wallet/code); online only. */
  async serverCode() {
    const r = await requestJSON('GET', '/api/v1/wallet/code');
    if (!r.ok || !r.body || !r.body.code) throw new Error('no code');
    return r.body.code;
  }

  draw() {
    if (!this.code || !this.qr || this.stopped) return;
    const c = this.canvas;
    const bitmap = this.qr.generate(this.code, { minCorrectionLevel: this.qr.correction.M });
    const quiet = 4;
    const modules = bitmap.size + quiet * 2;
    const cssWidth = c.clientWidth || c.parentElement.clientWidth || 296;
    const scale = Math.max(1, Math.floor((cssWidth * (devicePixelRatio || 1)) / modules));
    const px = scale * modules;
    if (c.width !== px) { c.width = px; c.height = px; }
    const ctx = c.getContext('2d', { alpha: false });
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, px, px);
    ctx.fillStyle = '#000';
    for (let y = 0; y < bitmap.size; y++) {
      for (let x = 0; x < bitmap.size; x++) {
        if (bitmap.get(x, y)) ctx.fillRect((x + quiet) * scale, (y + quiet) * scale, scale, scale);
      }
    }
    c.dataset.code = this.code;
    c.dataset.step = String(this.step);
  }

  showCountdown(leftMs) {
    const secs = Math.max(1, Math.ceil(leftMs / 1000));
    $('countdown-text').textContent = msg('wallet.countdown', { n: secs }, `${secs}s`);
    const bar = $('countdown-bar');
    const fraction = (secs - 1) / PERIOD_SECONDS;
    // on wrap-around jump to full without animating backwards
    bar.classList.toggle('no-anim', secs === PERIOD_SECONDS);
    bar.style.transform = `scaleX(${fraction})`;
    $('countdown').dataset.seconds = String(secs);
  }

  stop(text) {
    this.stopped = true;
    clearTimeout(this.timer);
    this.canvas.hidden = true;
    this.canvas.removeAttribute('data-code');
    $('countdown').hidden = true;
    $('status-text').textContent = text;
    $('status-banner').hidden = false;
  }

  fail(err) {
    console.error('card QR:', err);
    // online, the server can still draw the code; offline, say so
    const box = $('qr-box');
    this.canvas.hidden = true;
    if (!box.querySelector('img')) {
      const img = new Image();
      img.className = 'qr-img';
      img.alt = msg('wallet.qr_alt');
      img.src = '/api/v1/wallet/code.png';
      img.onerror = () => { img.remove(); this.stop(msg('wallet.qr_failed')); };
      box.append(img);
    }
    $('countdown').hidden = true;
  }
}

const canvas = $('card-qr');
const card = canvas && data.status === 'active' ? new Card(canvas) : { tick() {} };
if (canvas && data.status === 'active') card.start();

addEventListener('online', () => { showOnline(); syncClock(); });
addEventListener('offline', showOnline);
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') { card.tick(); keepAwake(); }
});
addEventListener('pageshow', () => card.tick());
showOnline();
showClock();
syncClock();
setInterval(syncClock, CLOCK_RESYNC_MS);

// ---- keep the screen on while the card is shown -------------------------------------------

async function keepAwake() {
  try {
    if ('wakeLock' in navigator && document.visibilityState === 'visible' && data.status === 'active') {
      await navigator.wakeLock.request('screen');
    }
  } catch { /* not allowed (battery saver): fine */ }
}
keepAwake();

// ---- install (add to home screen) ----------------------------------------------------------

let installPrompt = null;
addEventListener('beforeinstallprompt', (e) => {
  e.preventDefault();
  installPrompt = e;
  $('install-box').hidden = false;
});
$('install').addEventListener('click', async () => {
  if (!installPrompt) return;
  installPrompt.prompt();
  try { await installPrompt.userChoice; } catch { /* dismissed */ }
  installPrompt = null;
  $('install-box').hidden = true;
});

// ---- toast ----------------------------------------------------------------------------------

let toastTimer = 0;
function toast(text) {
  const t = $('toast');
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 3500);
}

// ---- guest passes ---------------------------------------------------------------------------

const quota = { limit: Number(data.guest_quota?.limit) || 0, used: Number(data.guest_quota?.used) || 0 };
const maxParty = Math.max(1, Number(data.guest_party_max) || 0,
  ...(data.perks || []).map((p) => Number(p.companions) || 0));

function isoDate(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** End of the chosen local day as RFC 3339 with the local offset, e.g. 2025-07-01T23:59:59+09:00. */
function endOfDayRFC3339(dateValue) {
  const [y, m, d] = dateValue.split('-').map(Number);
  const end = new Date(y, m - 1, d, 23, 59, 59);
  const off = -end.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const p = (n) => String(Math.floor(Math.abs(n))).padStart(2, '0');
  return `${dateValue}T23:59:59${sign}${p(off / 60)}:${p(off % 60)}`;
}

function setupGuestForm() {
  const form = $('guest-form');
  if (!form) return;
  const size = $('guest-party-size');
  const until = $('guest-valid-until');
  size.max = String(maxParty);
  const today = new Date(clock.now());
  until.min = isoDate(today);
  const maxDays = Number(data.guest_max_days) || 90;
  until.max = isoDate(new Date(today.getTime() + maxDays * 86400000));
  if (!until.value) until.value = isoDate(today);
  updateQuota();

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const err = $('guest-error');
    err.hidden = true;
    const n = Number(size.value);
    if (!Number.isInteger(n) || n < 1 || n > maxParty) {
      return showFormError(size, msg('wallet.guests.error.party_size', { max: maxParty }));
    }
    if (!until.value) return showFormError(until, msg('wallet.guests.error.date'));
    size.removeAttribute('aria-invalid');
    until.removeAttribute('aria-invalid');
    const payload = { party_size: n, valid_until: endOfDayRFC3339(until.value) };
    const button = $('guest-create');
    button.disabled = true;
    button.textContent = msg('wallet.guests.creating');
    try {
      const r = await requestJSON('POST', '/api/v1/wallet/guest-passes', payload);
      if (!r.ok) {
        showFormError(null, errorMessage(r.body, msg('wallet.guests.error.generic')));
        return;
      }
      const pass = { party_size: n, valid_until: payload.valid_until, uses: 0, max_uses: 1, status: 'active', ...r.body };
      quota.used += 1;
      updateQuota();
      const li = guestItem(pass);
      $('guest-empty')?.remove();
      $('guest-list').prepend(li);
      li.classList.add('is-new');
      toast(msg('wallet.guests.created'));
      li.querySelector('[data-action="share"]').focus();
    } catch {
      showFormError(null, msg(navigator.onLine ? 'wallet.guests.error.generic' : 'wallet.guests.error.offline'));
    } finally {
      button.disabled = quota.used >= quota.limit;
      button.textContent = msg('wallet.guests.create');
    }
  });
}

function showFormError(input, text) {
  const err = $('guest-error');
  err.textContent = text;
  err.hidden = false;
  if (input) { input.setAttribute('aria-invalid', 'true'); input.focus(); }
}

function updateQuota() {
  const used = $('guest-quota-used');
  if (used) used.textContent = String(quota.used);
  const full = quota.used >= quota.limit; // a limit of 0 means no guest passes
  const button = $('guest-create');
  if (button) button.disabled = full;
  const err = $('guest-error');
  if (full && err) { err.textContent = msg('wallet.guests.quota_reached'); err.hidden = false; }
}

function statusText(status) {
  return msg(`wallet.guests.status.${status}`, null, status);
}

/** Builds a guest pass list item like the server-rendered one in wallet.html. */
function guestItem(p) {
  const li = document.createElement('li');
  li.className = 'guest-item';
  li.dataset.id = p.id;
  li.dataset.status = p.status;
  li.dataset.shareUrl = p.share_url || '';

  const head = document.createElement('div');
  head.className = 'guest-head';
  const party = document.createElement('span');
  party.textContent = (Number(p.party_size) === 1 && msg('wallet.guests.party.one', null, '')) || msg('wallet.guests.party', { n: p.party_size });
  const badge = document.createElement('span');
  badge.className = `badge status-${p.status}`;
  badge.dataset.role = 'status';
  badge.textContent = statusText(p.status);
  head.append(party, badge);

  const meta = document.createElement('div');
  meta.className = 'guest-meta';
  meta.textContent = `${msg('wallet.guests.valid_until')}: ${formatDateTime(p.valid_until, lang) || p.valid_until} · `
    + `${msg('wallet.guests.uses')}: ${p.uses ?? 0} / ${p.max_uses ?? 1}`;

  const row = document.createElement('div');
  row.className = 'btn-row';
  const share = button('btn', 'share', msg('wallet.guests.share'));
  const open = link('btn', p.share_url, msg('wallet.guests.open'));
  open.target = '_blank';
  open.rel = 'noopener';
  row.append(share, open);
  if (p.png_url) {
    const png = link('btn', p.png_url, msg('wallet.guests.image'));
    png.setAttribute('download', '');
    row.append(png);
  }
  if (p.status === 'active') row.append(button('btn btn-danger', 'cancel', msg('wallet.guests.cancel')));
  li.append(head, meta, row);
  return li;
}

function button(cls, action, text) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = cls;
  b.dataset.action = action;
  b.textContent = text;
  return b;
}

function link(cls, href, text) {
  const a = document.createElement('a');
  a.className = cls;
  a.href = href;
  a.textContent = text;
  return a;
}

async function sharePass(li) {
  const url = new URL(li.dataset.shareUrl, location.href).href;
  const shareData = {
    title: msg('wallet.guests.share_title'),
    text: msg('wallet.guests.share_text', { name: data.display_name || '' }),
    url,
  };
  if (navigator.share) {
    try {
      await navigator.share(shareData);
      return;
    } catch (err) {
      if (err && err.name === 'AbortError') return;
    }
  }
  try {
    await navigator.clipboard.writeText(url);
    toast(msg('wallet.guests.copied'));
  } catch {
    prompt(msg('wallet.guests.copy'), url);
  }
}

async function cancelPass(li, btn) {
  if (!confirm(msg('wallet.guests.cancel_confirm'))) return;
  btn.disabled = true;
  try {
    const r = await requestJSON('POST', `/api/v1/wallet/guest-passes/${encodeURIComponent(li.dataset.id)}/cancel`);
    if (!r.ok) {
      toast(errorMessage(r.body, msg('wallet.guests.error.generic')));
      btn.disabled = false;
      return;
    }
    const status = (r.body && r.body.status) || 'cancelled';
    li.dataset.status = status;
    const badge = li.querySelector('[data-role="status"]');
    badge.className = `badge status-${status}`;
    badge.textContent = statusText(status);
    btn.remove();
    toast(msg('wallet.guests.cancelled_toast'));
  } catch {
    btn.disabled = false;
    toast(msg('wallet.guests.error.offline'));
  }
}

$('guest-list')?.addEventListener('click', (e) => {
  const btn = e.target.closest('button[data-action]');
  if (!btn) return;
  const li = btn.closest('li[data-id]');
  if (!li) return;
  if (btn.dataset.action === 'share') sharePass(li);
  if (btn.dataset.action === 'cancel') cancelPass(li, btn);
});
setupGuestForm();

// ---- offline support ------------------------------------------------------------------------

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((err) => console.warn('service worker:', err));
}

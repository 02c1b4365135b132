// alumnipass service worker, served at /sw.js (scope /). It keeps the wallet usable in a
// basement with no signal: /w is network-first with a cached fallback, and the static files the
// wallet needs are precached and served cache-first (refreshed in the background).
// Bump VERSION whenever a precached file changes, so installed wallets take the new set.
const VERSION = 'v5';
const CACHE = `alumnipass-wallet-${VERSION}`;
const WALLET_URL = '/w';
// The staff scanner too: reopened in a basement it decides offline from its stored data.
const SCAN_URL = '/scan';
const NETWORK_TIMEOUT_MS = 4000;

const ASSETS = [
  '/static/css/app.css',
  '/static/js/wallet.js',
  '/static/js/totp.js',
  '/static/js/device.js',
  '/static/js/scan.js',
  '/static/js/scan_offline.js',
  '/static/js/offline.js',
  '/static/js/clock.js',
  '/static/js/page.js',
  '/static/vendor/lean-qr/lean-qr.min.mjs',
  '/manifest.webmanifest',
  '/static/icons/icon.svg',
  '/static/icons/icon-192.png',
  '/static/icons/icon-512.png',
  '/static/icons/maskable-512.png',
];
const PRECACHED = new Set(ASSETS);

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(ASSETS);
    // The wallet page needs the wallet cookie; if it is refused (no cookie yet), install anyway
    // and let the first online visit cache it.
    for (const page of [WALLET_URL, SCAN_URL]) {
      try {
        const res = await fetch(page, { credentials: 'same-origin', cache: 'no-store' });
        if (res.ok && !res.redirected) await cache.put(page, res);
      } catch { /* offline during install */ }
    }
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith('alumnipass-') && n !== CACHE).map((n) => caches.delete(n)));
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  // Never the API: a cached /api/v1/time would pass an old server time for a new one.
  if (url.pathname.startsWith('/api/')) return;
  if (url.pathname === WALLET_URL && req.mode === 'navigate') {
    event.respondWith(walletPage(req));
  } else if (url.pathname === SCAN_URL && req.mode === 'navigate') {
    event.respondWith(networkFirst(req, SCAN_URL));
  } else if (PRECACHED.has(url.pathname)) {
    event.respondWith(cacheFirst(event, url.pathname));
  }
  // everything else (other pages) goes to the network untouched
});

/** Network first, so the page shows fresh perks and history; the cached copy when offline. */
function walletPage(req) {
  return networkFirst(req, WALLET_URL);
}

/** A page network first, kept for when there is no network (or it hangs). */
async function networkFirst(req, path) {
  const cache = await caches.open(CACHE);
  const network = fetch(req).then(async (res) => {
    if (res.ok && !res.redirected && new URL(res.url).pathname === path) {
      await cache.put(path, res.clone());
    }
    return res;
  });
  const cached = await cache.match(path);
  if (!cached) return network;
  // A weak signal can hang for a long time: past the timeout, show the cached card.
  const timeout = new Promise((resolve) => setTimeout(() => resolve(cached), NETWORK_TIMEOUT_MS));
  return Promise.race([network.catch(() => cached), timeout]);
}

/** Cache first; refresh the copy in the background so an unbumped change still arrives. */
async function cacheFirst(event, path) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(path);
  const refresh = fetch(path, { cache: 'no-cache' }).then(async (res) => {
    if (res.ok) await cache.put(path, res.clone());
    return res;
  });
  if (cached) {
    event.waitUntil(refresh.catch(() => undefined));
    return cached;
  }
  return refresh;
}

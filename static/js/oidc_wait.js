// oidc_wait.js — the page of a sign-in finished on another device: while
// the member approves on their phone, ask every two seconds where the
// sign-in stands; once approved, go on to the partner; once declined or
// expired, say so. Without JavaScript the page's "continue" link does the
// same on a tap.
(() => {
  const box = document.getElementById('oidc-wait');
  if (!box) return;
  const url = box.dataset.waitUrl;
  let failures = 0;

  const poll = async () => {
    try {
      const r = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' });
      if (!r.ok) throw new Error('status ' + r.status);
      const s = await r.json();
      failures = 0;
      if (s.state === 'approved' && s.continue) {
        box.textContent = box.dataset.going;
        window.location.assign(s.continue);
        return;
      }
      if (s.state === 'gone') {
        box.textContent = box.dataset.gone;
        box.classList.add('banner', 'banner-bad');
        const btn = document.getElementById('oidc-continue-btn');
        if (btn) btn.hidden = true;
        return;
      }
    } catch (e) {
      failures += 1; // offline for a moment: keep asking, more slowly
    }
    setTimeout(poll, Math.min(2000 * (1 + failures), 10000));
  };
  setTimeout(poll, 2000);
})();

// invitations.js — keeps an invitation job's page current: while the job
// runs it asks the console for the job's progress every second and moves
// the bar and the counts; when the job ends it reloads the page once, so
// the per-member results are the final ones. Without JavaScript the page
// shows the progress as it was when loaded, with a reload link.
(() => {
  const job = document.getElementById('job');
  if (!job || job.dataset.status !== 'running') return;
  const url = job.dataset.progressUrl;
  const bar = document.getElementById('job-progress');
  const text = (id, v) => {
    const el = document.getElementById(id);
    if (el) el.textContent = String(v);
  };
  let failures = 0;

  const show = (p) => {
    const total = p.total || 0;
    const settled = p.settled || 0;
    const percent = total > 0 ? Math.floor((settled * 100) / total) : 100;
    bar.max = total;
    bar.value = settled;
    bar.textContent = percent + '%';
    text('job-percent', percent);
    text('job-settled', settled);
    text('job-total', total);
    document.querySelectorAll('[data-count]').forEach((el) => {
      el.textContent = String((p.counts && p.counts[el.dataset.count]) || 0);
    });
  };

  const poll = async () => {
    try {
      const r = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' });
      if (!r.ok) throw new Error('status ' + r.status);
      const p = await r.json();
      failures = 0;
      show(p);
      if (p.status !== 'running') {
        const u = new URL(window.location.href);
        u.searchParams.delete('msg'); // "started" is no longer news
        window.location.replace(u.toString());
        return;
      }
    } catch (e) {
      failures += 1; // offline or signed out: keep trying, more slowly
    }
    setTimeout(poll, Math.min(1000 * (1 + failures), 10000));
  };
  setTimeout(poll, 1000);
})();

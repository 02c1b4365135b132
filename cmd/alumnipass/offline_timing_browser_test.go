package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/alumnipass/alumnipass/internal/browsertest"
	"github.com/alumnipass/alumnipass/internal/store"
)

// TestOfflineDecisionTimingBrowser measures, on a phone-sized CPU (Chromium
// CPU throttling ×4), the scanner's offline decision of a live v2 code and
// the fetch and parse of the full status list with 1,000,000 listed cards.
// Numbers are logged for docs/benchmarks.md, never asserted. Set
// ALUMNIPASS_TIMING=1 to run it (it inserts a million rows).
func TestOfflineDecisionTimingBrowser(t *testing.T) {
	if os.Getenv("ALUMNIPASS_TIMING") == "" {
		t.Skip("set ALUMNIPASS_TIMING=1 to measure")
	}
	ts := startServer(t, store.SQLite)
	ph := ts.enrolPhone(t, "P0001")
	const fill = `
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
		INSERT INTO status_changes (subject_id, subject_kind, status, seq, changed_at, expires_at)
		SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a' ||
		       substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))), 'card', 'revoked', 2, '2026-01-01 00:00:00', '2099-01-01 00:00:00'
		FROM n`
	if _, err := ts.Store.DB().ExecContext(context.Background(), fill); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Store.DB().ExecContext(context.Background(), `UPDATE status_list_head SET seq = seq + 1`); err != nil {
		t.Fatal(err)
	}
	ctx := browsertest.New(t)
	code := ph.code(t, ph.key, time.Now())
	var out map[string]any
	browse(t, ctx, 240*time.Second,
		chromedp.Navigate(ts.URL+"/healthz"),
		emulation.SetCPUThrottlingRate(4),
		evalAsync(`(async () => {
			const o = await import('/static/js/offline.js');
			const keys = await o.importKeys(await (await fetch('/.well-known/alumnipass/keys.json')).json());
			let t0 = performance.now();
			const buf = await (await fetch('/.well-known/alumnipass/status-list')).arrayBuffer();
			const fetched = performance.now() - t0;
			t0 = performance.now();
			const full = await o.parseStatusList(buf, keys);
			const parsed = performance.now() - t0;
			const runs = 20;
			t0 = performance.now();
			let r;
			for (let i = 0; i < runs; i++) r = await o.decide(keys, full, `+"`"+code+"`"+`, Date.now());
			const decide = (performance.now() - t0) / runs;
			return { bytes: buf.byteLength, fetch_ms: fetched, parse_ms: parsed, decide_ms: decide, result: r.result, listed: full.sections[0].length / 16 };
		})()`, &out),
	)
	t.Logf("CPU ×4: status list %v bytes (%v listed): fetch %.0f ms, parse+verify %.0f ms; offline decision of a v2 code %.1f ms (%v)",
		out["bytes"], out["listed"], out["fetch_ms"], out["parse_ms"], out["decide_ms"], out["result"])
	if out["result"] != "valid" {
		t.Errorf("the measured decision was %v", out["result"])
	}
}

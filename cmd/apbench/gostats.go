package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// goStats are the server's Go runtime counters, read from its own /metrics
// (the Prometheus Go collector) before and after a phase: what the server
// allocated and how often it collected garbage while apbench loaded it.
type goStats struct {
	mallocs, allocBytes, gcCycles float64
	ok                            bool
}

func (s goStats) sub(before goStats) goStats {
	return goStats{mallocs: s.mallocs - before.mallocs, allocBytes: s.allocBytes - before.allocBytes,
		gcCycles: s.gcCycles - before.gcCycles, ok: s.ok && before.ok}
}

// scrapeGoStats reads the three counters, trying twice.
func scrapeGoStats(ctx context.Context, base string) (goStats, error) {
	s, err := scrapeOnce(ctx, base)
	if err != nil {
		s, err = scrapeOnce(ctx, base)
	}
	return s, err
}

func scrapeOnce(ctx context.Context, base string) (goStats, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return goStats{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return goStats{}, fmt.Errorf("GET /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return goStats{}, fmt.Errorf("GET /metrics: HTTP %d", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return goStats{}, fmt.Errorf("read /metrics: %w", err)
	}
	mallocs, ok1 := families["go_memstats_mallocs_total"]
	bytes, ok2 := families["go_memstats_alloc_bytes_total"]
	gc, ok3 := families["go_gc_duration_seconds"]
	if !ok1 || !ok2 || !ok3 || len(mallocs.GetMetric()) == 0 || len(bytes.GetMetric()) == 0 || len(gc.GetMetric()) == 0 {
		return goStats{}, fmt.Errorf("/metrics lacks the Go runtime counters")
	}
	return goStats{
		mallocs:    mallocs.GetMetric()[0].GetCounter().GetValue(),
		allocBytes: bytes.GetMetric()[0].GetCounter().GetValue(),
		gcCycles:   float64(gc.GetMetric()[0].GetSummary().GetSampleCount()),
		ok:         true,
	}, nil
}

// perRequest formats the allocation columns of a phase.
func (s goStats) perRequest(requests int) string {
	if !s.ok || requests == 0 {
		return "—"
	}
	n := float64(requests)
	return fmt.Sprintf("%.0f / %.1f KB / %.1f", s.mallocs/n, s.allocBytes/n/1024, s.gcCycles*1000/n)
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"
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
	var s goStats
	found := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := bytes.Cut(sc.Bytes(), []byte(" "))
		if !ok {
			continue
		}
		var dst *float64
		switch string(name) {
		case "go_memstats_mallocs_total":
			dst = &s.mallocs
		case "go_memstats_alloc_bytes_total":
			dst = &s.allocBytes
		case "go_gc_duration_seconds_count":
			dst = &s.gcCycles
		default:
			continue
		}
		v, err := strconv.ParseFloat(string(value), 64)
		if err != nil {
			return goStats{}, fmt.Errorf("/metrics: %s: %w", name, err)
		}
		*dst = v
		found++
	}
	if err := sc.Err(); err != nil {
		return goStats{}, fmt.Errorf("read /metrics: %w", err)
	}
	if found != 3 {
		return goStats{}, fmt.Errorf("/metrics has %d of the 3 Go runtime counters", found)
	}
	s.ok = true
	return s, nil
}

// perRequest formats the allocation columns of a phase.
func (s goStats) perRequest(requests int) string {
	if !s.ok || requests == 0 {
		return "—"
	}
	n := float64(requests)
	return fmt.Sprintf("%.0f / %.1f KB / %.1f", s.mallocs/n, s.allocBytes/n/1024, s.gcCycles*1000/n)
}

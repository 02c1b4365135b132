package main

import (
	"log/slog"
	"os"
	"runtime/debug"
)

// Memory the server holds besides its card cache (the runtime, the pools of
// connections and buffers, the other caches), and what one cached card
// costs with its share of the cache's indexes (BenchmarkCacheMemory in
// internal/verify measures about 0.9 KiB).
const (
	memoryBase    = 96 << 20
	memoryPerCard = 1 << 10
)

// softMemoryLimit gives the Go runtime a soft memory limit sized from the
// card cache bound, unless the operator set GOMEMLIMIT (which the runtime
// reads itself, and which wins). Without one the collector lets the heap
// grow to twice what is live before it runs, so a server whose cache is
// full (100,000 cards, about 90 MB) sat at over 300 MB RSS; with the
// limit it collects sooner as the heap nears the bound, and RSS stays near
// base + cache. The limit is soft: a heap that needs more gets it (the
// collector then runs more often, never more than half the CPU), so a
// cache sized above the default only costs collector time, not a crash.
// It returns the limit set, 0 when the operator's GOMEMLIMIT stands.
func softMemoryLimit(cacheSize int, log *slog.Logger) int64 {
	if _, set := os.LookupEnv("GOMEMLIMIT"); set {
		return 0
	}
	limit := int64(memoryBase) + int64(cacheSize)*memoryPerCard
	debug.SetMemoryLimit(limit)
	log.Debug("soft memory limit", "bytes", limit, "card_cache_size", cacheSize)
	return limit
}

package httpkit

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the HTTP-level Prometheus series.
type Metrics struct {
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	Verify    *prometheus.CounterVec // verification decisions by result
	Throttled *prometheus.CounterVec // refusals by rate limit
}

// NewMetrics registers the series with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alumnipass_http_requests_total", Help: "HTTP requests by method, route and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "alumnipass_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"method", "route"}),
		Verify: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alumnipass_verifications_total", Help: "Verification decisions by result.",
		}, []string{"result"}),
		Throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alumnipass_throttled_total", Help: "Requests refused by a rate limit, by limit.",
		}, []string{"limit"}),
	}
	reg.MustRegister(m.requests, m.latency, m.Verify, m.Throttled)
	return m
}

// Observe counts one answered request. The registry keeps label values for
// as long as the process lives, while Fiber's strings (c.Method(), and
// c.Route().Path when no route matched) point into request buffers that
// the next request overwrites: every label is a constant or a copy.
func (m *Metrics) Observe(method, route string, status int, d time.Duration) {
	method = methodLabel(method)
	if route == "" || route == "/" && status == 404 {
		route = "unmatched"
	} else {
		route = strings.Clone(route)
	}
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(method, route).Observe(d.Seconds())
}

// methodLabel maps a request method to a constant string; anything but the
// standard methods is "other", so a client cannot grow the series without
// bound.
func methodLabel(m string) string {
	for _, known := range [...]string{fiber.MethodGet, fiber.MethodPost, fiber.MethodPut, fiber.MethodDelete,
		fiber.MethodPatch, fiber.MethodHead, fiber.MethodOptions} {
		if m == known {
			return known
		}
	}
	return "other"
}

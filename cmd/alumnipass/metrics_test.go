package main

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/common/expfmt"
	prommodel "github.com/prometheus/common/model"

	"github.com/alumnipass/alumnipass/internal/store"
)

// TestMetricsSurviveVariedRequests: label values must not point into
// Fiber's reused request buffers. Before the fix a handful of requests with
// different methods and paths made /metrics answer 500 for good, because a
// stored method label changed under the registry's feet.
func TestMetricsSurviveVariedRequests(t *testing.T) {
	t.Parallel()
	ts := startServer(t, store.SQLite)
	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"}
	paths := []string{"/healthz", "/api/v1/time", "/api/v1/members", "/admin/login", "/no/such/page", "/static/css/app.css",
		"/api/v1/members/0f6c6f0e-0000-4000-8000-000000000000", "/x" + strings.Repeat("y", 300)}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			client := &http.Client{}
			for i := 0; i < 60; i++ {
				m := methods[(i+w)%len(methods)]
				p := paths[(i*3+w)%len(paths)]
				req, err := http.NewRequest(m, ts.URL+p, strings.NewReader(fmt.Sprintf(`{"n":%d}`, i)))
				if err != nil {
					t.Error(err)
					return
				}
				if i%2 == 0 {
					req.Header.Set("Authorization", "Bearer "+ts.HRToken)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}
		}(w)
	}
	wg.Wait()
	for i := 0; i < 3; i++ {
		r := ts.do("GET", "/metrics", "", nil)
		if r.Status != 200 {
			t.Fatalf("GET /metrics after varied requests: %d %.600s", r.Status, r.Body)
		}
		parser := expfmt.NewTextParser(prommodel.UTF8Validation)
		fams, err := parser.TextToMetricFamilies(bytes.NewReader(r.Body))
		if err != nil {
			t.Fatalf("the /metrics answer does not parse: %v", err)
		}
		reqs := fams["alumnipass_http_requests_total"]
		if reqs == nil || len(reqs.Metric) < 5 {
			t.Fatalf("too few request series: %v", reqs)
		}
		for _, m := range reqs.Metric {
			for _, l := range m.Label {
				if l.GetName() == "method" && !strings.Contains(" GET POST PUT DELETE PATCH OPTIONS HEAD ", " "+l.GetValue()+" ") {
					t.Errorf("method label %q is not a request method", l.GetValue())
				}
				if l.GetName() == "route" && strings.Contains(l.GetValue(), "yyyy") {
					t.Errorf("a raw request path became a route label: %q", l.GetValue())
				}
			}
		}
	}
}

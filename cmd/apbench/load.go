package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
)

// errDone tells the load runner that a worker has no more work to send.
var errDone = errors.New("no more work")

// request is one request of a load phase. It returns an outcome label for
// the result mix (an HTTP 2xx answer) or an error (transport error or other
// status, counted as an error).
type request func(ctx context.Context, c *rawConn) (outcome string, err error)

// loadPhase is a closed-loop load: conns workers, each with its own
// keep-alive connection, send requests back to back for a duration.
type loadPhase struct {
	name       string
	conns      int
	duration   time.Duration
	server     *server // whose CPU time is measured
	send       request
	perfFile   string // when set, perf records the machine during the phase
	logged     bool   // each request writes to PostgreSQL (batches are reported)
	database   string // the bench database: only its backends count as PostgreSQL CPU
	postmaster int    // apbench's own cluster's server process, when it runs one: only its processes count
}

// cpuUse is CPU time spent during a phase, by process; machine is every
// process on the machine, so machine minus the others is outside noise.
type cpuUse struct {
	server, client, postgres, machine time.Duration
}

// sub is the use between two samples.
func (u cpuUse) sub(before cpuUse) cpuUse {
	return cpuUse{server: u.server - before.server, client: u.client - before.client,
		postgres: u.postgres - before.postgres, machine: u.machine - before.machine}
}

// other is what processes outside the benchmark used.
func (u cpuUse) other() time.Duration {
	return max(u.machine-u.server-u.client-u.postgres, 0)
}

// loadResult is what one load phase measured.
type loadResult struct {
	name      string
	conns     int
	elapsed   time.Duration
	requests  int // answered 2xx
	errors    int
	errorKind map[string]int
	outcomes  map[string]int
	latencies []time.Duration // of every request, sorted
	cpu       cpuUse
	writeTxns int64 // write transactions PostgreSQL committed meanwhile
	logged    bool
	goStats   goStats // the server's allocations and GC cycles meanwhile
}

// rate is answered requests per second.
func (r *loadResult) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.requests) / r.elapsed.Seconds()
}

// percentile is the latency at or below which p (0..100) of requests were.
func (r *loadResult) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.latencies)-1) * p / 100)
	return r.latencies[i]
}

// workerStats is what one worker collects, merged at the end.
type workerStats struct {
	latencies []time.Duration
	outcomes  map[string]int
	errors    map[string]int
}

// run drives the phase and measures it.
func (ph *loadPhase) run(ctx context.Context) (*loadResult, error) {
	stats := make([]workerStats, ph.conns)
	before := ph.sampleCPU()
	start := time.Now()
	deadline := start.Add(ph.duration)
	phaseCtx, cancel := context.WithDeadline(ctx, deadline.Add(30*time.Second))
	defer cancel()
	var wg sync.WaitGroup
	for w := range ph.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newRawConn(ph.server.url, 30*time.Second)
			defer c.close()
			stats[w] = ph.work(phaseCtx, c, deadline)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	after := ph.sampleCPU()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := &loadResult{name: ph.name, conns: ph.conns, elapsed: elapsed, logged: ph.logged, outcomes: map[string]int{}, errorKind: map[string]int{},
		cpu: after.sub(before)}
	for _, s := range stats {
		res.latencies = append(res.latencies, s.latencies...)
		for k, v := range s.outcomes {
			res.outcomes[k] += v
			res.requests += v
		}
		for k, v := range s.errors {
			res.errorKind[k] += v
			res.errors += v
		}
	}
	slices.Sort(res.latencies)
	return res, nil
}

func (ph *loadPhase) work(ctx context.Context, c *rawConn, deadline time.Time) workerStats {
	s := workerStats{outcomes: map[string]int{}, errors: map[string]int{}, latencies: make([]time.Duration, 0, 4096)}
	for time.Now().Before(deadline) && ctx.Err() == nil {
		t0 := time.Now()
		outcome, err := ph.send(ctx, c)
		if errors.Is(err, errDone) {
			break
		}
		s.latencies = append(s.latencies, time.Since(t0))
		if err != nil {
			s.errors[errorLabel(err)]++
			continue
		}
		s.outcomes[outcome]++
	}
	return s
}

func (ph *loadPhase) sampleCPU() cpuUse {
	u := cpuUse{client: selfCPU(), postgres: postgresCPU(ph.database, ph.postmaster), machine: machineBusy()}
	if ph.server != nil {
		u.server, _, _ = processCPU(ph.server.cmd.Process.Pid)
	}
	return u
}

// statusError is a non-2xx answer in a load phase.
type statusError struct{ status int }

func (e statusError) Error() string { return "HTTP " + http.StatusText(e.status) }

func errorLabel(err error) string {
	var se statusError
	if errors.As(err, &se) {
		return "HTTP " + strconv.Itoa(se.status)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return "timeout"
	}
	return "transport error"
}

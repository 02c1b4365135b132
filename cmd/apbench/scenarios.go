package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// revocationResult is how long a revocation made on instance A takes to be
// refused by instance B.
type revocationResult struct {
	toRefusal []time.Duration // from sending the revoke to A until B answers revoked
	ackToA    []time.Duration // how long A took to answer the revoke
	timedOut  int
}

// revocationTimeout bounds one trial; far above the 1 s target.
const revocationTimeout = 10 * time.Second

// measureRevocation revokes members on A while polling B with their fresh
// codes every 5 ms. B has each card in its cache before the revoke (it has
// just answered valid), so only the change feed can tell it.
func measureRevocation(ctx context.Context, a, b *server, fx *fixture, trials int) (*revocationResult, error) {
	hr := newAPI(a.url, 30*time.Second)
	c := newRawConn(b.url, 10*time.Second)
	defer c.close()
	res := &revocationResult{}
	for i := range trials {
		w := fx.wallets[len(fx.wallets)-1-i]
		key := fx.keys[w.key].token
		d, err := postVerify(ctx, c, key, w.codeAt(totpStep(time.Now())))
		if err != nil {
			return nil, fmt.Errorf("scan on B before revoking: %w", err)
		}
		if d.Result != "valid" {
			return nil, fmt.Errorf("card %s answers %q on B before the revoke", w.cardID, d.Result)
		}
		start := time.Now()
		acked := make(chan error, 1)
		go func() {
			err := hr.call(ctx, http.MethodPost, "/api/v1/members/"+w.memberID+"/revoke", fx.hrToken, map[string]string{"reason": "apbench revocation trial"}, nil)
			res.ackToA = append(res.ackToA, time.Since(start))
			acked <- err
		}()
		refused, err := pollUntilRevoked(ctx, c, key, w, start)
		if ackErr := <-acked; ackErr != nil {
			return nil, ackErr
		}
		if err != nil {
			return nil, err
		}
		if refused == 0 {
			res.timedOut++
			continue
		}
		res.toRefusal = append(res.toRefusal, refused)
	}
	return res, nil
}

// pollUntilRevoked scans w's current code on B every 5 ms and returns the
// time since start of the first revoked answer, or 0 after the timeout.
func pollUntilRevoked(ctx context.Context, c *rawConn, key string, w *wallet, start time.Time) (time.Duration, error) {
	for time.Since(start) < revocationTimeout {
		d, err := postVerify(ctx, c, key, w.codeAt(totpStep(time.Now())))
		if err != nil {
			return 0, fmt.Errorf("poll B: %w", err)
		}
		switch d.Result {
		case "revoked":
			return time.Since(start), nil
		case "valid":
		default:
			return 0, fmt.Errorf("instance B answered %q while waiting for revoked", d.Result)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return 0, nil
}

// importResult is the wall time of the import benchmark, client side.
type importResult struct {
	rows   int
	bytes  int
	dryRun time.Duration
	real   time.Duration
}

// measureImport posts one HR export of rows new members, first as a dry run.
func measureImport(ctx context.Context, srv *server, hrToken string, rows int) (*importResult, error) {
	a := newAPI(srv.url, 10*time.Minute)
	csv := memberCSV("IMPORT", rows)
	res := &importResult{rows: rows, bytes: len(csv)}
	for _, dry := range []bool{true, false} {
		path := "/api/v1/members/import"
		if dry {
			path += "?dry_run=1"
		}
		var rep importReport
		start := time.Now()
		if err := a.call(ctx, http.MethodPost, path, hrToken, csv, &rep); err != nil {
			return nil, err
		}
		took := time.Since(start)
		if rep.Created != rows {
			return nil, fmt.Errorf("import (dry run %v) reports %d created of %d", dry, rep.Created, rows)
		}
		if dry {
			res.dryRun = took
		} else {
			res.real = took
		}
	}
	return res, nil
}

// startupResult is start-up to ready and idle memory on one database.
type startupResult struct {
	dialect string
	ready   []time.Duration
	rssKB   []int
}

// measureStartup starts a server on an empty database runs times: exec to
// the first 200 of /readyz (polled every 5 ms), then VmRSS after 2 s idle.
func (b *bench) measureStartup(ctx context.Context, dialect string) (*startupResult, error) {
	res := &startupResult{dialect: dialect}
	for i := range b.opt.startups {
		dir, err := os.MkdirTemp(b.workDir, "startup-")
		if err != nil {
			return nil, err
		}
		env := serverEnv("ALUMNIPASS_DATA_DIR=" + filepath.Join(dir, "data"))
		if dialect == "postgres" {
			name, url, err := b.pg.createDatabase(ctx, "apbench_startup")
			if err != nil {
				return nil, err
			}
			b.cleanup.add(func() error { return b.pg.dropDatabase(context.Background(), name) })
			env = append(env, "DATABASE_URL="+url)
		}
		s, err := launch(b.binary, fmt.Sprintf("startup-%s-%d", dialect, i+1), dir, env)
		if err != nil {
			return nil, err
		}
		ready, err := s.waitReady(ctx, 5*time.Millisecond, 30*time.Second)
		if err == nil {
			err = sleepCtx(ctx, 2*time.Second)
		}
		var rss int
		if err == nil {
			rss, err = s.rssKB()
		}
		if stopErr := s.stop(); err == nil {
			err = stopErr
		}
		if err != nil {
			return nil, err
		}
		res.ready = append(res.ready, ready)
		res.rssKB = append(res.rssKB, rss)
	}
	return res, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// median of durations (or ints); the input is not modified.
func median[T int | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

package main

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// measureCold runs the phases of the real workload: scans drawn from the
// whole population (most cards are not in the server's bounded cache), then
// the counter transaction, a scan followed by its redemption as a POS does.
// Both draw from one shuffled order of every card, so no card is scanned
// twice in a step and each phase meets cards the earlier ones did not warm.
func (b *bench) measureCold(ctx context.Context, rep *report, a *server, fx *fixture) error {
	order := make([]*wallet, len(fx.wallets))
	copy(order, fx.wallets)
	rng := rand.New(rand.NewPCG(17, 1)) //nolint:gosec // a shuffle, not a secret
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	pool := &codePool{wallets: order}
	var err error
	b.logf("POST /api/v1/verify, cards drawn from all %d: %d connections for %s", len(order), b.opt.conns, b.opt.coldFor)
	cold := &loadPhase{name: "POST /api/v1/verify, cards drawn from the whole population (cold)", conns: b.opt.conns, duration: b.opt.coldFor,
		server: a, logged: true, send: func(ctx context.Context, c *rawConn) (string, error) {
			w, code, _ := pool.take(time.Now())
			ans, err := postVerify(ctx, c, fx.keys[w.key].token, code)
			if err != nil {
				return "", err
			}
			return ans.label(), nil
		}}
	if rep.cold, err = b.runPhase(ctx, cold); err != nil {
		return err
	}
	b.logf("counter transactions (verify, then redeem): %d connections for %s", b.opt.conns, b.opt.counterFor)
	rep.counter, err = b.runPhase(ctx, counterLoad(a, fx, pool, b.opt.conns, b.opt.counterFor))
	rep.reshownCold = int(pool.reshown.Load())
	return err
}

// counterLoad is one counter transaction per request: the scanner verifies
// a card drawn from the whole population, and the POS redeems the perk on
// that verification at once (party size 1, its own Idempotency-Key). The
// latency is the whole transaction's.
func counterLoad(srv *server, fx *fixture, pool *codePool, conns int, d time.Duration) *loadPhase {
	var seq atomic.Int64
	return &loadPhase{name: "counter transaction: verify + redeem (whole population)", conns: conns, duration: d, server: srv, logged: true,
		send: func(ctx context.Context, c *rawConn) (string, error) {
			w, code, _ := pool.take(time.Now())
			key := fx.keys[w.key].token
			ans, err := postVerify(ctx, c, key, code)
			if err != nil {
				return "", err
			}
			if ans.Result != "valid" || ans.Repeat {
				return "verify " + ans.label(), nil
			}
			body := `{"verification_id":"` + ans.VerificationID + `","perk_id":"` + fx.perkID + `","party_size":1}`
			status, _, err := c.do(ctx, http.MethodPost, "/api/v1/redemptions", []header{
				{"Authorization", "Bearer " + key},
				{"Content-Type", "application/json"},
				{"Idempotency-Key", "apbench-counter-" + strconv.FormatInt(seq.Add(1), 10)},
			}, body)
			if err != nil {
				return "", err
			}
			if status != http.StatusCreated {
				return "", statusError{status}
			}
			return "valid + redeemed", nil
		}}
}

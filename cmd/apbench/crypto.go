package main

import (
	"crypto/ed25519"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alumnipass/alumnipass/internal/credential"
	"github.com/alumnipass/alumnipass/internal/verify"
)

// cryptoResult is the no-I/O cost of a scan, measured in this process.
type cryptoResult struct {
	ceiling       float64 // parse + Ed25519 + TOTP ops/s on all cores
	ceilingProcs  int
	ed25519One    float64 // raw ed25519.Verify ops/s, one core
	parseVerify   float64 // credential.Parse + VerifySignature ops/s, one core
	parseVerifyTP float64 // parse + verify + TOTP ops/s, one core
	ceilingCPU    cpuUse  // CPU used during the ceiling (client = apbench)
	ceilingWall   time.Duration
}

// sample is one real card code with what checking it needs.
type sample struct {
	code   string
	secret []byte
	pub    ed25519.PublicKey
	at     time.Time
}

// cryptoSamples are real codes of the enrolled cards at the current step,
// checked with the server's own public key.
func cryptoSamples(fx *fixture, n int) ([]sample, error) {
	now := time.Now()
	out := make([]sample, 0, n)
	for i := range min(n, len(fx.wallets)) {
		w := fx.wallets[i]
		code := w.codeAt(totpStep(now))
		p, err := credential.Parse(code)
		if err != nil {
			return nil, fmt.Errorf("card %s: %w", w.cardID, err)
		}
		pub, ok := fx.pubs[p.KeyID]
		if !ok || !p.VerifySignature(pub) {
			return nil, fmt.Errorf("card %s does not verify with keys.json", w.cardID)
		}
		out = append(out, sample{code: code, secret: w.secret, pub: pub, at: now})
	}
	return out, nil
}

// checkScan is the crypto-only work of one card scan with the server's
// parameters: parse, full Ed25519 check, TOTP match.
func checkScan(s *sample) bool {
	p, err := credential.Parse(s.code)
	if err != nil || !p.VerifySignature(s.pub) {
		return false
	}
	_, ok, _ := credential.MatchTOTP(s.secret, p.TOTP, s.at, verify.TOTPWindow, verify.TOTPSearch)
	return ok
}

// bestOpsPerSecond runs opsPerSecond in one-second rounds for about d and
// returns the best round: on a shared machine the best round is the one
// least disturbed by other processes.
func bestOpsPerSecond(procs int, d time.Duration, op func(i int) bool) (float64, error) {
	best := 0.0
	for range max(int(d/time.Second), 1) {
		r, err := opsPerSecond(procs, time.Second, op)
		if err != nil {
			return 0, err
		}
		best = max(best, r)
	}
	return best, nil
}

// opsPerSecond runs op on procs goroutines for d and returns the rate.
// op(i) must return false only on a bug.
func opsPerSecond(procs int, d time.Duration, op func(i int) bool) (float64, error) {
	var stop atomic.Bool
	var total atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	start := time.Now()
	for g := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for i := g; !stop.Load(); i += procs {
				for range 16 {
					if !op(i) {
						failed.Store(true)
					}
					n++
				}
			}
			total.Add(int64(n))
		}()
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	if failed.Load() {
		return 0, fmt.Errorf("a check failed during the crypto measurement")
	}
	return float64(total.Load()) / time.Since(start).Seconds(), nil
}

// measureCrypto measures the ceiling on all cores (GOMAXPROCS goroutines)
// and the single-core pieces with GOMAXPROCS set to 1, each as the best
// one-second round.
func measureCrypto(fx *fixture, d time.Duration) (*cryptoResult, error) {
	samples, err := cryptoSamples(fx, 1024)
	if err != nil {
		return nil, err
	}
	at := func(i int) *sample { return &samples[i%len(samples)] }
	r := &cryptoResult{ceilingProcs: runtime.GOMAXPROCS(0)}
	before, start := cpuUse{client: selfCPU(), machine: machineBusy()}, time.Now()
	if r.ceiling, err = bestOpsPerSecond(r.ceilingProcs, d, func(i int) bool { return checkScan(at(i)) }); err != nil {
		return nil, err
	}
	r.ceilingWall = time.Since(start)
	r.ceilingCPU = cpuUse{client: selfCPU(), machine: machineBusy()}.sub(before)
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	one := min(d/2, 2*time.Second)
	msg := make([]byte, 40) // the size of a card message with a short tier
	_, priv, _ := ed25519.GenerateKey(nil)
	pub, sig := priv.Public().(ed25519.PublicKey), ed25519.Sign(priv, msg)
	if r.ed25519One, err = bestOpsPerSecond(1, one, func(int) bool { return ed25519.Verify(pub, msg, sig) }); err != nil {
		return nil, err
	}
	if r.parseVerify, err = bestOpsPerSecond(1, one, func(i int) bool {
		s := at(i)
		p, err := credential.Parse(s.code)
		return err == nil && p.VerifySignature(s.pub)
	}); err != nil {
		return nil, err
	}
	if r.parseVerifyTP, err = bestOpsPerSecond(1, one, func(i int) bool { return checkScan(at(i)) }); err != nil {
		return nil, err
	}
	return r, nil
}

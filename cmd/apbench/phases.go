package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// verifyAnswer is the part of a verification answer apbench reads.
type verifyAnswer struct {
	Result         string `json:"result"`
	Repeat         bool   `json:"repeat"`
	VerificationID string `json:"verification_id"`
}

// postVerify sends one code to POST /api/v1/verify with a venue's key.
func postVerify(ctx context.Context, c *rawConn, key, code string) (*verifyAnswer, error) {
	status, body, err := c.do(ctx, http.MethodPost, "/api/v1/verify",
		[]header{{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}}, `{"code":"`+code+`"}`)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, statusError{status}
	}
	return decodeVerify(body)
}

// decodeVerify reads the three fields apbench needs. The load generator
// shares the CPUs with the server, so it picks them out of the compact JSON
// the server writes instead of decoding the whole answer, and falls back to
// encoding/json if the layout ever differs.
func decodeVerify(body []byte) (*verifyAnswer, error) {
	result, ok := stringField(body, "result")
	if ok {
		id, _ := stringField(body, "verification_id")
		return &verifyAnswer{Result: result, VerificationID: id, Repeat: bytes.Contains(body, []byte(`"repeat":true`))}, nil
	}
	var d verifyAnswer
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("decode verify answer: %w", err)
	}
	return &d, nil
}

// stringField finds "key":"value" in compact JSON; values apbench reads
// have no escapes.
func stringField(body []byte, key string) (string, bool) {
	i := bytes.Index(body, []byte(`"`+key+`":"`))
	if i < 0 {
		return "", false
	}
	rest := body[i+len(key)+4:]
	j := bytes.IndexByte(rest, '"')
	if j < 0 || bytes.IndexByte(rest[:j], '\\') >= 0 {
		return "", false
	}
	return string(rest[:j]), true
}

// label names a verification outcome in the result mix.
func (d *verifyAnswer) label() string {
	if d.Repeat {
		return d.Result + " (repeat)"
	}
	return d.Result
}

// scan is a valid verification that can be redeemed.
type scan struct {
	verificationID string
	key            int
}

// scans collects valid first verifications for the redemption phase.
type scans struct {
	mu   sync.Mutex
	list []scan
	next atomic.Int64
}

func (s *scans) add(sc scan) {
	s.mu.Lock()
	s.list = append(s.list, sc)
	s.mu.Unlock()
}

// take returns the next unredeemed scan, or false when all are used.
func (s *scans) take() (scan, bool) {
	i := int(s.next.Add(1) - 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if i >= len(s.list) {
		return scan{}, false
	}
	return s.list[i], true
}

// healthzLoad is the baseline: the cheapest route of the same server.
func healthzLoad(srv *server, conns int, d time.Duration) *loadPhase {
	return &loadPhase{name: "GET /healthz", conns: conns, duration: d, server: srv,
		send: func(ctx context.Context, c *rawConn) (string, error) {
			status, _, err := c.do(ctx, http.MethodGet, "/healthz", nil, "")
			if err != nil {
				return "", err
			}
			if status != http.StatusOK {
				return "", statusError{status}
			}
			return "ok", nil
		}}
}

// warmupLoad scans every card once, with the oldest code its step window
// allows: the first scan of each card fills the server's card cache, as a
// real day's first scans do. It is measured too (the cold-cache rate).
func warmupLoad(srv *server, fx *fixture, conns int, valid *scans) *loadPhase {
	var next atomic.Int64
	return &loadPhase{name: "POST /api/v1/verify, first scan of each card", conns: conns, duration: 5 * time.Minute, server: srv, logged: true,
		send: func(ctx context.Context, c *rawConn) (string, error) {
			i := int(next.Add(1) - 1)
			if i >= len(fx.wallets) {
				return "", errDone
			}
			w := fx.wallets[i]
			step := totpStep(time.Now().Add(stepMargin)) - 1
			w.lastStep.Store(step)
			d, err := postVerify(ctx, c, fx.keys[w.key].token, w.codeAt(step))
			if err != nil {
				return "", err
			}
			if d.Result == "valid" && !d.Repeat {
				valid.add(scan{verificationID: d.VerificationID, key: w.key})
			}
			return d.label(), nil
		}}
}

// verifyLoad is the main measurement: fresh valid card codes, each card
// at its own venue.
func verifyLoad(srv *server, fx *fixture, pool *codePool, conns int, d time.Duration) *loadPhase {
	return &loadPhase{name: "POST /api/v1/verify", conns: conns, duration: d, server: srv, logged: true,
		send: func(ctx context.Context, c *rawConn) (string, error) {
			w, code, _ := pool.take(time.Now())
			ans, err := postVerify(ctx, c, fx.keys[w.key].token, code)
			if err != nil {
				return "", err
			}
			return ans.label(), nil
		}}
}

// redeemLoad records one redemption per valid scan, concurrently, on a perk
// without limits.
func redeemLoad(srv *server, fx *fixture, valid *scans, conns int, d time.Duration) *loadPhase {
	var seq atomic.Int64
	return &loadPhase{name: "POST /api/v1/redemptions", conns: conns, duration: d, server: srv, logged: true,
		send: func(ctx context.Context, c *rawConn) (string, error) {
			sc, ok := valid.take()
			if !ok {
				return "", errDone
			}
			body := `{"verification_id":"` + sc.verificationID + `","perk_id":"` + fx.perkID + `","party_size":1}`
			status, _, err := c.do(ctx, http.MethodPost, "/api/v1/redemptions", []header{
				{"Authorization", "Bearer " + fx.keys[sc.key].token},
				{"Content-Type", "application/json"},
				{"Idempotency-Key", "apbench-" + strconv.FormatInt(seq.Add(1), 10)},
			}, body)
			if err != nil {
				return "", err
			}
			if status != http.StatusCreated {
				return "", statusError{status}
			}
			return "created", nil
		}}
}

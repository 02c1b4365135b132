package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// api calls one server's HTTP API for setup and single measurements; the
// load phases use their own tuned transport (see load.go).
type api struct {
	base   string
	client *http.Client
}

func newAPI(base string, timeout time.Duration) *api {
	return &api{base: base, client: &http.Client{Timeout: timeout, Transport: &http.Transport{
		MaxIdleConns: 128, MaxIdleConnsPerHost: 128, DisableCompression: true, IdleConnTimeout: 30 * time.Second}}}
}

// fromAddress returns a copy of a whose connections come from a loopback
// source address: each simulated phone gets its own address, as real ones
// do, so the per-address enrolment limit applies per phone.
func (a *api) fromAddress(ip net.IP) *api {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 5 * time.Second}
	return &api{base: a.base, client: &http.Client{Timeout: a.client.Timeout, Transport: &http.Transport{
		DialContext: d.DialContext, MaxIdleConnsPerHost: 4, DisableCompression: true}}}
}

// apiError is a non-2xx answer.
type apiError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *apiError) Error() string {
	body := e.Body
	if len(body) > 500 {
		body = body[:500] + "…"
	}
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.Status, body)
}

// call sends body (JSON-encoded unless it is []byte, sent as text/csv) and
// decodes a 2xx answer into out (when not nil).
func (a *api) call(ctx context.Context, method, path, token string, body, out any) error {
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, ct = bytes.NewReader(b), "text/csv; charset=utf-8"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return err
		}
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &apiError{Method: method, Path: path, Status: resp.StatusCode, Body: string(data)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

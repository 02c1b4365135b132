package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// partnerSite is a partner's website: a real OIDC relying party built on
// go-oidc and x/oauth2, on its own port at "localhost" (another site than
// the server's 127.0.0.1, so the browser treats the sign-in as cross-site).
type partnerSite struct {
	t        *testing.T
	URL      string
	ClientID string
	Secret   string
	provider *gooidc.Provider
	oauth    *oauth2.Config
	mu       sync.Mutex
	pending  map[string]pendingLogin // by state
	Results  chan siteResult
}

type pendingLogin struct{ verifier, nonce string }

// siteResult is one completed sign-in as the partner saw it.
type siteResult struct {
	Err     error
	Token   *oauth2.Token
	IDToken *gooidc.IDToken
	Claims  map[string]any
}

// newPartnerSite registers a client for partnerID (with the HR token) and
// starts the site; discovery goes through go-oidc.
func newPartnerSite(t *testing.T, ts *testServer, partnerID string) *partnerSite {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	s := &partnerSite{t: t, URL: fmt.Sprintf("http://localhost:%d", port), pending: map[string]pendingLogin{}, Results: make(chan siteResult, 4)}
	cl := ts.must(ts.do("POST", "/api/v1/partners/"+partnerID+"/oidc-clients", ts.HRToken, map[string]any{
		"name": "Booking site", "redirect_uris": []string{s.URL + "/cb"}}), 201)
	s.ClientID, s.Secret = cl.Str("client_id"), cl.Str("client_secret")
	s.provider, err = gooidc.NewProvider(context.Background(), ts.URL+"/oidc")
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	s.oauth = &oauth2.Config{ClientID: s.ClientID, ClientSecret: s.Secret, Endpoint: s.provider.Endpoint(),
		RedirectURL: s.URL + "/cb", Scopes: []string{gooidc.ScopeOpenID, "alumnipass"}}
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><a id="login" href="/login">Sign in with alumnipass</a>`)
	})
	mux.HandleFunc("/login", s.login)
	mux.HandleFunc("/cb", s.callback)
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

func (s *partnerSite) login(w http.ResponseWriter, r *http.Request) {
	state, nonce, verifier := randomHex(s.t, 16), randomHex(s.t, 16), oauth2.GenerateVerifier()
	s.mu.Lock()
	s.pending[state] = pendingLogin{verifier: verifier, nonce: nonce}
	s.mu.Unlock()
	http.Redirect(w, r, s.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce)), http.StatusFound)
}

func (s *partnerSite) callback(w http.ResponseWriter, r *http.Request) {
	res := s.finish(r)
	s.Results <- res
	if res.Err != nil {
		http.Error(w, res.Err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><p id="done">signed in: %s</p>`, res.IDToken.Subject)
}

func (s *partnerSite) finish(r *http.Request) siteResult {
	ctx := r.Context()
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return siteResult{Err: fmt.Errorf("provider answered %s: %s", e, q.Get("error_description"))}
	}
	s.mu.Lock()
	p, ok := s.pending[q.Get("state")]
	delete(s.pending, q.Get("state"))
	s.mu.Unlock()
	if !ok {
		return siteResult{Err: fmt.Errorf("unknown state")}
	}
	tok, err := s.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		return siteResult{Err: fmt.Errorf("exchange: %w", err)}
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := s.provider.Verifier(&gooidc.Config{ClientID: s.ClientID}).Verify(ctx, raw)
	if err != nil {
		return siteResult{Err: fmt.Errorf("id token: %w", err)}
	}
	if idt.Nonce != p.nonce {
		return siteResult{Err: fmt.Errorf("nonce %q, want %q", idt.Nonce, p.nonce)}
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return siteResult{Err: err}
	}
	return siteResult{Token: tok, IDToken: idt, Claims: claims}
}

// userinfo asks the provider's userinfo endpoint with the access token.
func (s *partnerSite) userinfo(ctx context.Context, tok *oauth2.Token) (map[string]any, error) {
	ui, err := s.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	if err := ui.Claims(&claims); err != nil {
		return nil, err
	}
	return claims, nil
}

// hasPerk reports whether the perks claim lists the perk.
func hasPerk(claims map[string]any, perkID string) bool {
	ps, _ := claims["perks"].([]any)
	for _, p := range ps {
		if m, ok := p.(map[string]any); ok && m["id"] == perkID {
			return true
		}
	}
	return false
}

// introspect asks the introspection endpoint as the site's client.
func (ts *testServer) introspect(site *partnerSite, token string) map[string]any {
	ts.t.Helper()
	form := url.Values{"token": {token}}
	req, err := http.NewRequest("POST", ts.URL+"/oidc/oauth/introspect", strings.NewReader(form.Encode()))
	if err != nil {
		ts.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(site.ClientID), url.QueryEscape(site.Secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		ts.t.Fatalf("introspection answer: %v", err)
	}
	return out
}

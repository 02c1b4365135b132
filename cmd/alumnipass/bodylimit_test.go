package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/store"
)

// rawStatus sends a request head declaring a body of declared bytes, then
// only the first 16 KiB of it, and reads the status line. A server that
// waits for the whole body before answering times out here.
func rawStatus(t *testing.T, ts *testServer, method, path, headers string, declared int) (int, time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	_ = conn.SetDeadline(start.Add(5 * time.Second))
	head := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: %d\r\n%s\r\n", method, path, declared, headers)
	if _, err := conn.Write(append([]byte(head), bytes.Repeat([]byte("a"), 16<<10)...)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s with a %d-byte body: no answer before the body was sent (%v)", method, path, declared, err)
	}
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

// TestBodyLimitsBeforeReading: a body over the route's limit is refused by
// its Content-Length before it is read (413), and the import route asks for
// authentication before reading its large body (401); chunked and
// compressed bodies are bounded too.
func TestBodyLimitsBeforeReading(t *testing.T) {
	ts := startServer(t, store.SQLite)
	const big = 20 << 20
	for _, c := range []struct {
		name, method, path, headers string
		want                        int
	}{
		{"JSON route, no auth", "POST", "/api/v1/partners", "", 413},
		{"JSON route, HR token", "POST", "/api/v1/partners", "Authorization: Bearer " + ts.HRToken + "\r\n", 413},
		{"verify", "POST", "/api/v1/verify", "", 413},
		{"pairing (no auth by design)", "POST", "/api/v1/devices/pair", "", 413},
		{"wallet enrolment", "POST", "/api/v1/wallet/enroll", "", 413},
		{"console sign-in", "POST", "/admin/login", "", 413},
		{"import without auth", "POST", "/api/v1/members/import", "", 401},
		{"import with a bad token", "POST", "/api/v1/members/import", "Authorization: Bearer aph_nonsense\r\n", 401},
		{"console import without a session", "POST", "/admin/import", "", 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, took := rawStatus(t, ts, c.method, c.path, c.headers, big)
			if status != c.want {
				t.Errorf("%d after %v, want %d", status, took, c.want)
			}
		})
	}
	// Over the import limit itself (32 MiB): refused before auth is asked.
	if status, _ := rawStatus(t, ts, "POST", "/api/v1/members/import", "", 40<<20); status != 413 {
		t.Errorf("40 MiB import: %d, want 413", status)
	}

	t.Run("chunked body over 64 KiB", func(t *testing.T) {
		req, _ := http.NewRequest("POST", ts.URL+"/api/v1/partners", io.MultiReader(strings.NewReader(`{"name":"`), strings.NewReader(strings.Repeat("a", 100<<10)), strings.NewReader(`"}`)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+ts.HRToken)
		req.ContentLength = -1 // chunked
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 413 {
				t.Errorf("chunked 100 KiB: %d, want 413", resp.StatusCode)
			}
		}
	})
	t.Run("chunked body under 64 KiB still works", func(t *testing.T) {
		req, _ := http.NewRequest("POST", ts.URL+"/api/v1/partners", io.MultiReader(strings.NewReader(`{"name":"chunked","kind":"hotel"}`)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+ts.HRToken)
		req.ContentLength = -1
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Errorf("chunked small body: %d, want 201", resp.StatusCode)
		}
	})
	t.Run("compressed body", func(t *testing.T) {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(bytes.Repeat([]byte(" "), 8<<20)) // 8 MiB of spaces in a few KiB
		_ = zw.Close()
		r := ts.raw("POST", "/api/v1/devices/pair", "", "application/json", b.Bytes(), "Content-Encoding", "gzip")
		if r.Status != 400 || r.Code() != "unsupported_media_type" {
			t.Errorf("gzip body: %d %s, want 400 unsupported_media_type", r.Status, r.Body)
		}
	})
	t.Run("an import with its token is still read", func(t *testing.T) {
		csv := []byte("employee_no,family_name,given_name,email,tier,departed_on\r\nB001,山田,花子,b1@example.com,gold,2024-03-31\r\n")
		csv = append(csv, bytes.Repeat([]byte("\r\n"), 100<<10)...) // past 64 KiB
		r := ts.do("POST", "/api/v1/members/import?dry_run=1", ts.HRToken, csv)
		if r.Status != 200 {
			t.Errorf("import of %d bytes: %d %.300s", len(csv), r.Status, r.Body)
		}
	})
}

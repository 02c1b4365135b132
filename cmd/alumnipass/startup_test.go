package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// buildBinary compiles alumnipass once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "alumnipass")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func get(url string) int {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestStartWithoutDatabase: with PostgreSQL unreachable the process stays
// up, alive but not ready, instead of exiting or crash-looping.
func TestStartWithoutDatabase(t *testing.T) {
	bin := buildBinary(t)
	addr := freeAddr(t)
	dead := freeAddr(t) // nothing listens there
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "ALUMNIPASS_ADDR="+addr, "DATABASE_URL=postgres://postgres@"+dead+"/x?sslmode=disable&connect_timeout=1",
		"ALUMNIPASS_DATA_DIR="+t.TempDir(), "ALUMNIPASS_MASTER_KEY="+strings.Repeat("ef", 32))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; get("http://"+addr+"/healthz") != 200; i++ {
		if i > 100 {
			t.Fatal("no /healthz while the database is down")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s := get("http://" + addr + "/readyz"); s != 503 {
		t.Fatalf("/readyz = %d with the database down", s)
	}
	if s := get("http://" + addr + "/api/v1/members"); s != 503 {
		t.Fatalf("API = %d with the database down", s)
	}
	if cmd.ProcessState != nil {
		t.Fatal("the process exited")
	}
}

// TestBadConfigurationIsOneLine: a bad setting stops start-up with one
// clear line naming it, not a stack trace.
func TestBadConfigurationIsOneLine(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "ALUMNIPASS_BASE_URL=not a url", "ALUMNIPASS_DATA_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("started with a bad base URL")
	}
	if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "ALUMNIPASS_BASE_URL") {
		t.Fatalf("want one line naming ALUMNIPASS_BASE_URL, got:\n%s", out)
	}
}

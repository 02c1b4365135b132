package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// syncBuffer collects a child process's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveUntilReady starts the binary, waits for /readyz through client at
// base, and returns what it printed; the process is stopped with SIGTERM.
func serveUntilReady(t *testing.T, bin, base string, client *http.Client, env []string, args ...string) string {
	t.Helper()
	var out syncBuffer
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return out.String()
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServeNewcomerFirstHour runs the binary as `make run` does: the first
// start prints the demo's sign-ins (HR and the partner manager); a second
// start creates nothing and says how to sign in again and how to reset;
// `--seed --reset` starts a new demo, and refuses on a data directory the
// demo did not make. With ALUMNIPASS_TLS_CERT/KEY it answers HTTPS.
func TestServeNewcomerFirstHour(t *testing.T) {
	bin := buildBinary(t)
	plain := &http.Client{Timeout: time.Second}

	t.Run("seed twice and reset", func(t *testing.T) {
		addr, dir := freeAddr(t), filepath.Join(t.TempDir(), "data")
		env := []string{"ALUMNIPASS_ADDR=" + addr, "ALUMNIPASS_BASE_URL=http://" + addr, "ALUMNIPASS_DATA_DIR=" + dir, "DATABASE_URL=", "ALUMNIPASS_MASTER_KEY="}
		base := "http://" + addr
		password := regexp.MustCompile(`admin@example\.com / (\S+)`)

		first := serveUntilReady(t, bin, base, plain, env, "--seed")
		pw := password.FindStringSubmatch(first)
		if pw == nil || !strings.Contains(first, base+"/partner") || !regexp.MustCompile(`partner@example\.com / \S+`).MatchString(first) ||
			!strings.Contains(first, "Make a pairing code") {
			t.Fatalf("first start does not print both sign-ins and where to re-make a pairing code:\n%s", first)
		}

		second := serveUntilReady(t, bin, base, plain, env, "--seed")
		for _, want := range []string{"already there", base + "/admin", "admin@example.com", base + "/partner", "partner@example.com", "make reset-demo", "Make a pairing code"} {
			if !strings.Contains(second, want) {
				t.Errorf("second start does not say %q:\n%s", want, second)
			}
		}
		if password.MatchString(second) || strings.Contains(second, "pair with code") {
			t.Errorf("second start made new credentials:\n%s", second)
		}
		st, err := store.Open(context.Background(), store.Options{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		pm, err := st.AdminByEmail(context.Background(), "partner@example.com")
		_ = st.Close()
		if err != nil || pm.Role != model.RolePartnerManager || pm.PartnerID == nil || *pm.PartnerID == "" {
			t.Fatalf("the demo's partner manager: %+v %v", pm, err)
		}

		third := serveUntilReady(t, bin, base, plain, env, "--seed", "--reset")
		pw3 := password.FindStringSubmatch(third)
		if !strings.Contains(third, "deleted the demo database") || pw3 == nil || pw3[1] == pw[1] {
			t.Fatalf("--seed --reset did not start a new demo:\n%s", third)
		}
	})

	t.Run("reset refuses", func(t *testing.T) {
		dir := t.TempDir()
		db := filepath.Join(dir, "alumnipass.db")
		if err := os.WriteFile(db, []byte("not the demo's"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"serve", "--reset"}, {"serve", "--seed", "--reset"}} {
			cmd := exec.Command(bin, args...)
			cmd.Env = append(os.Environ(), "ALUMNIPASS_ADDR="+freeAddr(t), "ALUMNIPASS_DATA_DIR="+dir, "DATABASE_URL=")
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), "--reset") {
				t.Errorf("%v: want a refusal naming --reset, got %v\n%s", args, err, out)
			}
		}
		if b, err := os.ReadFile(db); err != nil || string(b) != "not the demo's" {
			t.Fatalf("a database the demo did not make was touched: %q %v", b, err)
		}
	})

	t.Run("tls", func(t *testing.T) {
		addr := freeAddr(t)
		certPEM, cert, key := selfSignedFiles(t, t.TempDir())
		base := "https://" + addr
		env := []string{"ALUMNIPASS_ADDR=" + addr, "ALUMNIPASS_BASE_URL=" + base, "ALUMNIPASS_DATA_DIR=" + t.TempDir(), "DATABASE_URL=",
			"ALUMNIPASS_MASTER_KEY=" + strings.Repeat("ef", 32), "ALUMNIPASS_TLS_CERT=" + cert, "ALUMNIPASS_TLS_KEY=" + key}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(certPEM)
		client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
		out := serveUntilReady(t, bin, base, client, env)
		if !strings.Contains(out, `"tls":true`) {
			t.Errorf("the ready line does not say TLS:\n%s", out)
		}
	})
}

// selfSignedFiles writes a self-signed certificate for 127.0.0.1 and its
// key, returning the certificate's PEM and both paths.
func selfSignedFiles(t *testing.T, dir string) (certPEM []byte, certPath, keyPath string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "alumnipass test"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	certPath, keyPath = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certPath, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPEM, certPath, keyPath
}

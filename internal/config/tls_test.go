package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a self-signed certificate and its key as PEM files.
func selfSigned(t *testing.T, dir, name string) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}

func TestTLSSettings(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir, "a")
	otherCert, _ := selfSigned(t, dir, "b")
	https := "https://192.168.1.20:8443"
	c, err := Load(env(map[string]string{"ALUMNIPASS_TLS_CERT": cert, "ALUMNIPASS_TLS_KEY": key, "ALUMNIPASS_BASE_URL": https}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.TLS() || c.TLSCert != cert || c.TLSKey != key || !c.CookieSecure {
		t.Fatalf("%+v", c)
	}
	if c, err := Load(env(nil)); err != nil || c.TLS() {
		t.Fatalf("neither set: TLS %v, %v", c.TLS(), err)
	}
	for name, tc := range map[string]struct {
		kv   map[string]string
		want string
	}{
		"cert only":        {map[string]string{"ALUMNIPASS_TLS_CERT": cert, "ALUMNIPASS_BASE_URL": https}, "must be set together"},
		"key only":         {map[string]string{"ALUMNIPASS_TLS_KEY": key, "ALUMNIPASS_BASE_URL": https}, "must be set together"},
		"missing cert":     {map[string]string{"ALUMNIPASS_TLS_CERT": filepath.Join(dir, "nope.crt"), "ALUMNIPASS_TLS_KEY": key, "ALUMNIPASS_BASE_URL": https}, "ALUMNIPASS_TLS_CERT: open"},
		"unreadable key":   {map[string]string{"ALUMNIPASS_TLS_CERT": cert, "ALUMNIPASS_TLS_KEY": dir, "ALUMNIPASS_BASE_URL": https}, "ALUMNIPASS_TLS_KEY: read"},
		"not a pair":       {map[string]string{"ALUMNIPASS_TLS_CERT": otherCert, "ALUMNIPASS_TLS_KEY": key, "ALUMNIPASS_BASE_URL": https}, "not a PEM certificate and its private key"},
		"key as cert":      {map[string]string{"ALUMNIPASS_TLS_CERT": key, "ALUMNIPASS_TLS_KEY": key, "ALUMNIPASS_BASE_URL": https}, "not a PEM certificate"},
		"http base url":    {map[string]string{"ALUMNIPASS_TLS_CERT": cert, "ALUMNIPASS_TLS_KEY": key}, "ALUMNIPASS_BASE_URL must be an https:// URL"},
		"company newline":  {map[string]string{"ALUMNIPASS_COMPANY_NAME": "株式会社\nサンプル"}, "ALUMNIPASS_COMPANY_NAME must be"},
		"company too long": {map[string]string{"ALUMNIPASS_COMPANY_NAME_EN": strings.Repeat("x", 101)}, "ALUMNIPASS_COMPANY_NAME_EN must be"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(env(tc.kv))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("want one line with %q, got %v", tc.want, err)
			}
		})
	}
}

func TestCompanyName(t *testing.T) {
	c, err := Load(env(map[string]string{"ALUMNIPASS_COMPANY_NAME": " 株式会社サンプル "}))
	if err != nil || c.CompanyName != "株式会社サンプル" || c.CompanyNameEn != "株式会社サンプル" {
		t.Fatalf("%q %q %v", c.CompanyName, c.CompanyNameEn, err)
	}
	c, err = Load(env(map[string]string{"ALUMNIPASS_COMPANY_NAME": "株式会社サンプル", "ALUMNIPASS_COMPANY_NAME_EN": "Sample Co., Ltd."}))
	if err != nil || c.CompanyName != "株式会社サンプル" || c.CompanyNameEn != "Sample Co., Ltd." {
		t.Fatalf("%q %q %v", c.CompanyName, c.CompanyNameEn, err)
	}
}

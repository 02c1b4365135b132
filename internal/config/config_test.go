package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(kv map[string]string) Getenv {
	return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.DatabaseURL != "" || c.DataDir != "./data" || c.CookieSecure || c.MaxKeysPerVenue != 20 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestLoadRejectsBadValuesWithOneClearLine(t *testing.T) {
	for name, kv := range map[string]map[string]string{
		"mysql url":      {"DATABASE_URL": "mysql://x"},
		"relative base":  {"ALUMNIPASS_BASE_URL": "example.com"},
		"short key":      {"ALUMNIPASS_MASTER_KEY": "abcd"},
		"bad duration":   {"ALUMNIPASS_CARD_VALIDITY": "forever"},
		"bad int":        {"ALUMNIPASS_DB_MAX_CONNS": "many"},
		"bad level":      {"ALUMNIPASS_LOG_LEVEL": "loud"},
		"no device keys": {"ALUMNIPASS_MAX_KEYS_PER_VENUE": "0"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(env(kv))
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "ALUMNIPASS_") && !strings.Contains(err.Error(), "DATABASE_URL") {
				t.Fatalf("error is not one line naming the variable: %q", err)
			}
		})
	}
}

func TestSecretsFromFilesAndHTTPS(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "key")
	if err := os.WriteFile(p, []byte(strings.Repeat("0f", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(env(map[string]string{"ALUMNIPASS_MASTER_KEY_FILE": p, "ALUMNIPASS_BASE_URL": "https://alumni.example.jp/"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.MasterKey) != 32 || c.MasterKey[0] != 0x0f || !c.CookieSecure || c.BaseURL != "https://alumni.example.jp" {
		t.Fatalf("%+v", c)
	}
}

func TestDevMasterKeyIsStable(t *testing.T) {
	dir := t.TempDir()
	c := &Config{DataDir: dir}
	gen, err := c.EnsureMasterKey()
	if err != nil || !gen || len(c.MasterKey) != 32 {
		t.Fatalf("first: %v %v", gen, err)
	}
	first := string(c.MasterKey)
	c2 := &Config{DataDir: dir}
	gen, err = c2.EnsureMasterKey()
	if err != nil || gen || string(c2.MasterKey) != first {
		t.Fatalf("second start must reuse the key: gen=%v err=%v", gen, err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "dev-master.key")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", fi.Mode())
	}
}

// Package config reads the service's settings from the environment, in one
// typed table, so that every knob is documented in one place and a bad value
// stops start-up with one clear line.
package config

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Config is the whole configuration of one process.
type Config struct {
	Addr            string        // ALUMNIPASS_ADDR
	DatabaseURL     string        // DATABASE_URL; empty = embedded SQLite
	DataDir         string        // ALUMNIPASS_DATA_DIR
	BaseURL         string        // ALUMNIPASS_BASE_URL
	MasterKey       []byte        // ALUMNIPASS_MASTER_KEY (32 bytes, hex or base64)
	MasterKeyOld    []byte        // ALUMNIPASS_MASTER_KEY_OLD, for `keys rewrap`
	DevMasterKey    bool          // true when the key was generated into DataDir
	LogLevel        string        // ALUMNIPASS_LOG_LEVEL: debug, info, warn, error
	LogFormat       string        // ALUMNIPASS_LOG_FORMAT: json, text
	MaxConns        int           // ALUMNIPASS_DB_MAX_CONNS
	BodyLimit       int           // ALUMNIPASS_BODY_LIMIT bytes
	ShutdownTimeout time.Duration // ALUMNIPASS_SHUTDOWN_TIMEOUT
	CardValidity    time.Duration // ALUMNIPASS_CARD_VALIDITY
	EnrollValidity  time.Duration // ALUMNIPASS_ENROLL_VALIDITY
	GuestQuota      int           // ALUMNIPASS_GUEST_QUOTA per member per month
	Retention       time.Duration // ALUMNIPASS_RETENTION for verifications and redemptions
	SMTPURL         string        // ALUMNIPASS_SMTP_URL smtp://user:pass@host:port?from=...
	CookieSecure    bool          // derived: BaseURL is https
	Seed            bool          // ALUMNIPASS_SEED: demo data on first start
	ConsentVersion  string        // ALUMNIPASS_CONSENT_VERSION
	CardCacheSize   int           // ALUMNIPASS_CARD_CACHE_SIZE: cards the verifier keeps in memory
	MaxKeysPerVenue int           // ALUMNIPASS_MAX_KEYS_PER_VENUE: active device keys a venue may hold
	TLSCert         string        // ALUMNIPASS_TLS_CERT: PEM certificate (chain) file; serve speaks HTTPS
	TLSKey          string        // ALUMNIPASS_TLS_KEY: PEM private key file of TLSCert
	CompanyName     string        // ALUMNIPASS_COMPANY_NAME: the company that writes to its alumni (letters, e-mail)
	CompanyNameEn   string        // ALUMNIPASS_COMPANY_NAME_EN: its English name; defaults to CompanyName
	JobLease        time.Duration // ALUMNIPASS_JOB_LEASE: how long a stopped instance's invitation items wait before another takes them
}

// Getenv is how Load reads variables; tests pass a map's lookup.
type Getenv func(string) (string, bool)

// Load reads the configuration. Secrets may come from NAME_FILE instead of
// NAME (Docker and Kubernetes secrets).
func Load(getenv Getenv) (*Config, error) {
	r := reader{getenv: getenv}
	c := &Config{
		Addr:            r.str("ALUMNIPASS_ADDR", ":8080"),
		DatabaseURL:     r.secret("DATABASE_URL"),
		DataDir:         r.str("ALUMNIPASS_DATA_DIR", "./data"),
		BaseURL:         strings.TrimRight(r.str("ALUMNIPASS_BASE_URL", "http://localhost:8080"), "/"),
		LogLevel:        r.str("ALUMNIPASS_LOG_LEVEL", "info"),
		LogFormat:       r.str("ALUMNIPASS_LOG_FORMAT", "json"),
		MaxConns:        r.int("ALUMNIPASS_DB_MAX_CONNS", 64),
		BodyLimit:       r.int("ALUMNIPASS_BODY_LIMIT", 32<<20),
		ShutdownTimeout: r.duration("ALUMNIPASS_SHUTDOWN_TIMEOUT", 20*time.Second),
		CardValidity:    r.duration("ALUMNIPASS_CARD_VALIDITY", 3*365*24*time.Hour),
		EnrollValidity:  r.duration("ALUMNIPASS_ENROLL_VALIDITY", 14*24*time.Hour),
		GuestQuota:      r.int("ALUMNIPASS_GUEST_QUOTA", 10),
		Retention:       r.duration("ALUMNIPASS_RETENTION", 400*24*time.Hour),
		SMTPURL:         r.secret("ALUMNIPASS_SMTP_URL"),
		Seed:            r.bool("ALUMNIPASS_SEED", false),
		ConsentVersion:  r.str("ALUMNIPASS_CONSENT_VERSION", "2026-11"),
		CardCacheSize:   r.int("ALUMNIPASS_CARD_CACHE_SIZE", 100_000),
		MaxKeysPerVenue: r.int("ALUMNIPASS_MAX_KEYS_PER_VENUE", 20),
		TLSCert:         r.str("ALUMNIPASS_TLS_CERT", ""),
		TLSKey:          r.str("ALUMNIPASS_TLS_KEY", ""),
		CompanyName:     r.str("ALUMNIPASS_COMPANY_NAME", ""),
		JobLease:        r.duration("ALUMNIPASS_JOB_LEASE", 2*time.Minute),
	}
	c.CompanyNameEn = r.str("ALUMNIPASS_COMPANY_NAME_EN", c.CompanyName)
	if k := r.secret("ALUMNIPASS_MASTER_KEY"); k != "" {
		c.MasterKey = r.key("ALUMNIPASS_MASTER_KEY", k)
	}
	if k := r.secret("ALUMNIPASS_MASTER_KEY_OLD"); k != "" {
		c.MasterKeyOld = r.key("ALUMNIPASS_MASTER_KEY_OLD", k)
	}
	if r.err != nil {
		return nil, r.err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c.CookieSecure = strings.HasPrefix(c.BaseURL, "https://")
	return c, nil
}

// Validate checks values that parse but make no sense.
func (c *Config) Validate() error {
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return errors.New("DATABASE_URL must be a postgres:// URL (or unset for the embedded SQLite)")
		}
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("ALUMNIPASS_BASE_URL must be an absolute http(s) URL, got %q", c.BaseURL)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("ALUMNIPASS_LOG_LEVEL must be debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return fmt.Errorf("ALUMNIPASS_LOG_FORMAT must be json or text, got %q", c.LogFormat)
	}
	if c.MaxConns < 1 || c.MaxConns > 1000 {
		return fmt.Errorf("ALUMNIPASS_DB_MAX_CONNS must be between 1 and 1000, got %d", c.MaxConns)
	}
	if c.BodyLimit < 1024 {
		return fmt.Errorf("ALUMNIPASS_BODY_LIMIT must be at least 1024 bytes, got %d", c.BodyLimit)
	}
	if c.GuestQuota < 0 {
		return fmt.Errorf("ALUMNIPASS_GUEST_QUOTA must not be negative, got %d", c.GuestQuota)
	}
	if c.CardCacheSize < 0 || c.CardCacheSize > 10_000_000 {
		return fmt.Errorf("ALUMNIPASS_CARD_CACHE_SIZE must be between 0 (no cache) and 10000000, got %d", c.CardCacheSize)
	}
	if c.MaxKeysPerVenue < 1 || c.MaxKeysPerVenue > 10_000 {
		return fmt.Errorf("ALUMNIPASS_MAX_KEYS_PER_VENUE must be between 1 and 10000, got %d", c.MaxKeysPerVenue)
	}
	if err := c.validateTLS(u); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"ALUMNIPASS_COMPANY_NAME", c.CompanyName}, {"ALUMNIPASS_COMPANY_NAME_EN", c.CompanyNameEn}} {
		if utf8.RuneCountInString(f.v) > 100 || strings.ContainsFunc(f.v, unicode.IsControl) {
			return fmt.Errorf("%s must be at most 100 characters on one line, got %q", f.name, f.v)
		}
	}
	return nil
}

// TLS reports whether serve listens with HTTPS itself (ALUMNIPASS_TLS_CERT
// and ALUMNIPASS_TLS_KEY), rather than behind a TLS-terminating proxy.
func (c *Config) TLS() bool { return c.TLSCert != "" }

// validateTLS checks the local-TLS option: both files or neither, both
// readable and a matching pair, and a base URL that says https, since
// every link the service writes (enrolment, pairing) must reach it.
func (c *Config) validateTLS(base *url.URL) error {
	switch {
	case c.TLSCert == "" && c.TLSKey == "":
		return nil
	case c.TLSCert == "" || c.TLSKey == "":
		return errors.New("ALUMNIPASS_TLS_CERT and ALUMNIPASS_TLS_KEY must be set together (or neither, for plain HTTP behind a proxy)")
	}
	for _, f := range []struct{ name, path string }{{"ALUMNIPASS_TLS_CERT", c.TLSCert}, {"ALUMNIPASS_TLS_KEY", c.TLSKey}} {
		if _, err := os.ReadFile(f.path); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	if _, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey); err != nil {
		return fmt.Errorf("ALUMNIPASS_TLS_CERT and ALUMNIPASS_TLS_KEY are not a PEM certificate and its private key: %w", err)
	}
	if base.Scheme != "https" {
		return fmt.Errorf("ALUMNIPASS_BASE_URL must be an https:// URL when ALUMNIPASS_TLS_CERT is set, got %q", c.BaseURL)
	}
	return nil
}

// EnsureMasterKey loads or creates the development master key in DataDir
// when none was configured. The caller must warn loudly when it returns true.
func (c *Config) EnsureMasterKey() (generated bool, err error) {
	if c.MasterKey != nil {
		return false, nil
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return false, fmt.Errorf("create data dir: %w", err)
	}
	path := filepath.Join(c.DataDir, "dev-master.key")
	b, err := os.ReadFile(path)
	if err == nil {
		k, derr := hex.DecodeString(strings.TrimSpace(string(b)))
		if derr != nil || len(k) != 32 {
			return false, fmt.Errorf("%s is not a 64-hex-digit key", path)
		}
		c.MasterKey, c.DevMasterKey = k, true
		return false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("read dev master key: %w", err)
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return false, fmt.Errorf("generate dev master key: %w", err)
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(k)+"\n"), 0o600); err != nil {
		return false, fmt.Errorf("write dev master key: %w", err)
	}
	c.MasterKey, c.DevMasterKey = k, true
	return true, nil
}

type reader struct {
	getenv Getenv
	err    error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *reader) str(name, def string) string {
	if v, ok := r.getenv(name); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return def
}

// secret reads NAME, or the file named by NAME_FILE.
func (r *reader) secret(name string) string {
	if v, ok := r.getenv(name); ok && v != "" {
		return strings.TrimSpace(v)
	}
	if p, ok := r.getenv(name + "_FILE"); ok && p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			r.fail(fmt.Errorf("%s_FILE: %w", name, err))
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	return ""
}

func (r *reader) int(name string, def int) int {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.fail(fmt.Errorf("%s must be a whole number, got %q", name, v))
	}
	return n
}

func (r *reader) bool(name string, def bool) bool {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(fmt.Errorf("%s must be true or false, got %q", name, v))
	}
	return b
}

func (r *reader) duration(name string, def time.Duration) time.Duration {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.fail(fmt.Errorf("%s must be a positive duration such as 30s or 720h, got %q", name, v))
	}
	return d
}

func (r *reader) key(name, v string) []byte {
	if k, err := hex.DecodeString(v); err == nil && len(k) == 32 {
		return k
	}
	if k, err := base64.StdEncoding.DecodeString(v); err == nil && len(k) == 32 {
		return k
	}
	r.fail(fmt.Errorf("%s must be 32 bytes as 64 hex digits or base64 (try: openssl rand -hex 32)", name))
	return nil
}

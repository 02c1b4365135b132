package httpkit

import (
	"net/url"
	"path/filepath"
	"time"

	"github.com/alumnipass/alumnipass/internal/config"
	"github.com/alumnipass/alumnipass/internal/mailer"
)

// NewMailer is the mailer every surface sends with: the configured SMTP
// server, or in development the outbox folder of the data directory. The
// sender is alumnipass@ the base URL's host.
func NewMailer(cfg *config.Config, now func() time.Time) (*mailer.Mailer, error) {
	from := "alumnipass@localhost"
	if u, err := url.Parse(cfg.BaseURL); err == nil && u.Hostname() != "" {
		from = "alumnipass@" + u.Hostname()
	}
	return mailer.New(cfg.SMTPURL, filepath.Join(cfg.DataDir, "outbox"), from, now)
}

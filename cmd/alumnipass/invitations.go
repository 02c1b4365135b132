package main

import (
	"context"
	"net/url"
	"path/filepath"
	"time"

	"github.com/alumnipass/alumnipass/internal/config"
	"github.com/alumnipass/alumnipass/internal/i18n"
	"github.com/alumnipass/alumnipass/internal/jobs"
	"github.com/alumnipass/alumnipass/internal/mailer"
	"github.com/alumnipass/alumnipass/static"
)

// newMailer is the mailer of the configured SMTP server, or the outbox
// folder in the data directory.
func newMailer(cfg *config.Config, now func() time.Time) (*mailer.Mailer, error) {
	from := "alumnipass@localhost"
	if u, err := url.Parse(cfg.BaseURL); err == nil && u.Hostname() != "" {
		from = "alumnipass@" + u.Hostname()
	}
	return mailer.New(cfg.SMTPURL, filepath.Join(cfg.DataDir, "outbox"), from, now)
}

// startInvitations starts the worker of bulk invitations (a table of jobs
// that every instance works on; see internal/jobs). The returned function
// stops it and waits for the e-mail in hand to be recorded. svc, when not
// nil, wakes the worker as soon as this instance creates a job.
func startInvitations(ctx context.Context, a *application, svc *jobs.Service) (func(), error) {
	mail, err := newMailer(a.cfg, time.Now)
	if err != nil {
		return nil, err
	}
	cat, err := i18n.Load(static.FS, "i18n")
	if err != nil {
		return nil, err
	}
	letter := jobs.Letter{Catalog: cat, CompanyName: a.cfg.CompanyName, CompanyNameEn: a.cfg.CompanyNameEn}
	w := jobs.NewWorker(a.st, svc, a.svc.Members, mail, letter, a.log.With("component", "invitations"), time.Now, jobs.WorkerOptions{Lease: a.cfg.JobLease})
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	return func() { cancel(); <-done }, nil
}

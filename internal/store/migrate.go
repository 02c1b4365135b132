package store

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/alumnipass/alumnipass/migrations"
)

// MigrationStatus is one migration and whether it is applied.
type MigrationStatus struct {
	Version int64
	Name    string
	Applied bool
}

func (s *Store) provider() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations.FS, s.dialect.name)
	if err != nil {
		return nil, fmt.Errorf("migrations folder: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if s.dialect.lockMigrations {
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, fmt.Errorf("migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(s.dialect.goose, s.db.DB, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// Migrate applies every pending migration. Two instances starting at once
// on PostgreSQL take turns through an advisory lock.
func (s *Store) Migrate(ctx context.Context) (applied []int64, err error) {
	p, err := s.provider()
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate up: %w", mapErr(err))
	}
	for _, r := range res {
		applied = append(applied, r.Source.Version)
	}
	// Data that SQL alone cannot compute: the folded search keys of members
	// written before migration 00010.
	if _, err := s.backfillSearchKeys(ctx); err != nil {
		return applied, err
	}
	return applied, nil
}

// MigrationStatus lists every known migration.
func (s *Store) MigrationStatus(ctx context.Context) ([]MigrationStatus, error) {
	p, err := s.provider()
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", mapErr(err))
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, m := range st {
		out = append(out, MigrationStatus{Version: m.Source.Version, Name: m.Source.Path, Applied: m.State == goose.StateApplied})
	}
	return out, nil
}

// CheckSchema refuses to run on a schema newer than this binary knows
// (a rollback of the binary after a migration), or an unmigrated one.
func (s *Store) CheckSchema(ctx context.Context) error {
	p, err := s.provider()
	if err != nil {
		return err
	}
	have, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("schema version: %w", mapErr(err))
	}
	srcs := p.ListSources()
	want := srcs[len(srcs)-1].Version
	if have > want {
		return fmt.Errorf("database schema is version %d but this binary knows only up to %d: upgrade the binary", have, want)
	}
	if have < want {
		return fmt.Errorf("database schema is version %d, this binary needs %d: run `alumnipass migrate up`", have, want)
	}
	return nil
}

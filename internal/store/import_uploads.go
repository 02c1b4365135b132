package store

import (
	"context"
	"fmt"
	"time"
)

// ImportUpload is a CSV file kept between the console's preview and its
// "Import" click.
type ImportUpload struct {
	Hash      string    `db:"hash"`
	OwnerID   string    `db:"owner_id"`
	Data      []byte    `db:"data"`
	CreatedAt time.Time `db:"created_at"`
	ExpiresAt time.Time `db:"expires_at"`
}

// KeepImportUpload stores (or refreshes) an uploaded file and removes the
// expired ones of every owner.
func (c *Conn) KeepImportUpload(ctx context.Context, u *ImportUpload) error {
	const qSweep = `DELETE FROM import_uploads WHERE expires_at <= ?`
	if _, err := c.x.ExecContext(ctx, c.q(qSweep), c.ts(u.CreatedAt)); err != nil {
		return fmt.Errorf("sweep import uploads: %w", mapErr(err))
	}
	const q = `
		INSERT INTO import_uploads (hash, owner_id, data, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (hash, owner_id) DO UPDATE SET created_at = excluded.created_at, expires_at = excluded.expires_at`
	if _, err := c.x.ExecContext(ctx, c.q(q), u.Hash, u.OwnerID, u.Data, c.ts(u.CreatedAt), c.ts(u.ExpiresAt)); err != nil {
		return fmt.Errorf("keep import upload: %w", mapErr(err))
	}
	return nil
}

// KeptImportUpload returns an owner's file by its hash while it has not
// expired; ErrNotFound otherwise.
func (c *Conn) KeptImportUpload(ctx context.Context, hash, ownerID string, now time.Time) ([]byte, error) {
	const q = `SELECT data FROM import_uploads WHERE hash = ? AND owner_id = ? AND expires_at > ?`
	var data []byte
	if err := c.x.GetContext(ctx, &data, c.q(q), hash, ownerID, c.ts(now)); err != nil {
		return nil, fmt.Errorf("import upload: %w", mapErr(err))
	}
	return data, nil
}

// DropImportUpload removes a file once it has been applied.
func (c *Conn) DropImportUpload(ctx context.Context, hash, ownerID string) error {
	const q = `DELETE FROM import_uploads WHERE hash = ? AND owner_id = ?`
	if _, err := c.x.ExecContext(ctx, c.q(q), hash, ownerID); err != nil {
		return fmt.Errorf("drop import upload: %w", mapErr(err))
	}
	return nil
}

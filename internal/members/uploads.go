package members

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/alumnipass/alumnipass/internal/model"
	"github.com/alumnipass/alumnipass/internal/store"
)

// UploadKeep is how long a previewed CSV file may still be applied.
const UploadKeep = time.Hour

// KeepUpload keeps a file previewed in the console for an hour, in the
// database so that any instance can apply it, and returns its SHA-256.
func (s *Service) KeepUpload(ctx context.Context, p *model.Principal, data []byte) (string, error) {
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:])
	now := s.now()
	err := s.st.KeepImportUpload(ctx, &store.ImportUpload{Hash: hash, OwnerID: p.ID, Data: data, CreatedAt: now, ExpiresAt: now.Add(UploadKeep)})
	if err != nil {
		return "", fmt.Errorf("keep upload: %w", err)
	}
	return hash, nil
}

// KeptUpload returns the file this principal previewed under hash;
// model.ErrNotFound when it is unknown, someone else's, or older than an hour.
func (s *Service) KeptUpload(ctx context.Context, p *model.Principal, hash string) ([]byte, error) {
	data, err := s.st.KeptImportUpload(ctx, hash, p.ID, s.now())
	if err != nil {
		return nil, fmt.Errorf("kept upload: %w", err)
	}
	return data, nil
}

// DropUpload forgets a file once it has been applied.
func (s *Service) DropUpload(ctx context.Context, p *model.Principal, hash string) error {
	if err := s.st.DropImportUpload(ctx, hash, p.ID); err != nil {
		return fmt.Errorf("drop upload: %w", err)
	}
	return nil
}

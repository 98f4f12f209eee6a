package file

import (
	"context"
	"time"

	"secureapi/internal/platform/apperr"
)

// File is an uploaded file's metadata; the bytes live under the upload
// directory at StorageKey.
type File struct {
	ID          string
	OwnerID     string
	Filename    string
	ContentType string
	Size        int64
	SHA256      string
	StorageKey  string
	CreatedAt   time.Time
}

var ErrNotFound = apperr.New(apperr.NotFound, "No such file.")

// Store persists file metadata.
type Store interface {
	Create(ctx context.Context, f File) (File, error)
	ByID(ctx context.Context, id string) (File, error)
	// ListByOwner returns up to limit files of owner older than before ("" = newest), newest first.
	ListByOwner(ctx context.Context, ownerID, before string, limit int) ([]File, error)
	Delete(ctx context.Context, id string) error
	Usage(ctx context.Context, ownerID string) (int64, error)
	StorageKeysByOwner(ctx context.Context, ownerID string) ([]string, error)
	StorageKeyExists(ctx context.Context, key string) (bool, error)
	// After returns up to limit files with id > after in id order (for consistency sweeps).
	After(ctx context.Context, after string, limit int) ([]File, error)
}

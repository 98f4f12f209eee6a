package file

import (
	"context"
	"errors"
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

// ErrOverQuota is CreateWithinQuota's refusal; the service answers it with the quota's size.
var ErrOverQuota = errors.New("file: over quota")

// Store persists file metadata.
type Store interface {
	Create(ctx context.Context, f File) (File, error)
	// CreateWithinQuota stores f only if the owner's stored bytes plus f.Size
	// stay within quota, checking and inserting under the owner's lock so that
	// concurrent uploads (on any instance) cannot pass the quota together;
	// ErrOverQuota otherwise.
	CreateWithinQuota(ctx context.Context, f File, quota int64) (File, error)
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

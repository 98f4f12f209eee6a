package file

import (
	"context"
	"errors"
	"time"

	"secureapi/internal/audit"
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

// errOverQuota rolls back an upload's insert; the service answers it with the quota's size.
var errOverQuota = errors.New("file: over quota")

// Store persists file metadata.
type Store interface {
	Create(ctx context.Context, f File) (File, error)
	// LockOwner locks ownerID's account until the transaction ends, so that
	// checks about everything one owner stores (the quota) run one at a time
	// on every instance. Use it inside a unit of work.
	LockOwner(ctx context.Context, ownerID string) error
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

// Stores are the stores the file service reaches in one unit of work, all
// bound to its transaction.
type Stores interface {
	Files() Store
	Audit() audit.Store
}

// UnitOfWork runs fn in one transaction: commit when fn returns nil, roll
// back otherwise. fn must use only the Stores it is given.
type UnitOfWork interface {
	InTx(ctx context.Context, fn func(Stores) error) error
}

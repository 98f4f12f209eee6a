package sqlstore

import (
	"context"

	"secureapi/gen/sqlitedb"
	"secureapi/internal/file"
)

// Files implements file.Store.
type Files struct{ base }

var _ file.Store = (*Files)(nil)

func NewFiles(e Engine) *Files { return &Files{base{e: e}} }

func (s *Files) err(err error) error { return s.mapErr(err, file.ErrNotFound, nil) }

func (s *Files) Create(ctx context.Context, f file.File) (file.File, error) {
	r, err := s.w().CreateFile(ctx, sqlitedb.CreateFileParams{
		ID: f.ID, OwnerID: f.OwnerID, Filename: f.Filename, ContentType: f.ContentType,
		Size: f.Size, Sha256: f.SHA256, StorageKey: f.StorageKey, CreatedAt: ts(f.CreatedAt),
	})
	return toFile(r), s.err(err)
}

// LockOwner holds ownerID's account row lock until the transaction ends
// (PostgreSQL; SQLite's single writer already serializes), so that the file
// service's quota check and insert for one owner run one at a time.
func (s *Files) LockOwner(ctx context.Context, ownerID string) error {
	n, err := s.w().LockUser(ctx, ownerID)
	if err != nil {
		return s.err(err)
	}
	if n == 0 {
		return file.ErrNotFound
	}
	return nil
}

func (s *Files) ByID(ctx context.Context, id string) (file.File, error) {
	r, err := s.r().GetFile(ctx, id)
	return toFile(r), s.err(err)
}

func (s *Files) ListByOwner(ctx context.Context, ownerID, before string, limit int) ([]file.File, error) {
	rows, err := s.r().ListFilesByOwner(ctx, sqlitedb.ListFilesByOwnerParams{OwnerID: ownerID, Cursor: beforeID(before), Lim: clampLimit(limit)})
	if err != nil {
		return nil, s.err(err)
	}
	return toFiles(rows), nil
}

func (s *Files) Delete(ctx context.Context, id string) error {
	n, err := s.w().DeleteFile(ctx, id)
	if err != nil {
		return s.err(err)
	}
	if n == 0 {
		return file.ErrNotFound
	}
	return nil
}

func (s *Files) Usage(ctx context.Context, ownerID string) (int64, error) {
	n, err := s.r().OwnerUsage(ctx, ownerID)
	return n, s.err(err)
}

func (s *Files) StorageKeysByOwner(ctx context.Context, ownerID string) ([]string, error) {
	keys, err := s.r().ListStorageKeysByOwner(ctx, ownerID)
	return keys, s.err(err)
}

func (s *Files) StorageKeyExists(ctx context.Context, key string) (bool, error) {
	n, err := s.r().StorageKeyExists(ctx, key)
	return n > 0, s.err(err)
}

func (s *Files) After(ctx context.Context, after string, limit int) ([]file.File, error) {
	if after == "" {
		after = nilID
	}
	rows, err := s.r().ListFilesAfter(ctx, sqlitedb.ListFilesAfterParams{AfterID: after, Lim: clampLimit(limit)})
	if err != nil {
		return nil, s.err(err)
	}
	return toFiles(rows), nil
}

func toFile(r sqlitedb.File) file.File {
	return file.File{
		ID: r.ID, OwnerID: r.OwnerID, Filename: r.Filename, ContentType: r.ContentType,
		Size: r.Size, SHA256: r.Sha256, StorageKey: r.StorageKey, CreatedAt: utc(r.CreatedAt),
	}
}

func toFiles(rows []sqlitedb.File) []file.File {
	out := make([]file.File, len(rows))
	for i, r := range rows {
		out[i] = toFile(r)
	}
	return out
}

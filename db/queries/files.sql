-- name: CreateFile :one
INSERT INTO files (id, owner_id, filename, content_type, size, sha256, storage_key, created_at)
VALUES (@id, @owner_id, @filename, @content_type, @size, @sha256, @storage_key, @created_at)
RETURNING *;

-- name: GetFile :one
SELECT * FROM files WHERE id = @id;

-- name: ListFilesByOwner :many
-- One range of files_owner_idx, (owner, nil UUID) <= (owner_id, id) < (owner,
-- cursor), rather than "owner_id = @owner_id AND id < @cursor ORDER BY id DESC":
-- that order is also the primary key's, and PostgreSQL may walk the primary key
-- and filter by owner, reading every newer file of every other owner before an
-- owner's older files (500,000 rows for one page at a million files).
SELECT * FROM files
WHERE (owner_id, id) < (@owner_id, @cursor)
  AND (owner_id, id) >= (@owner_id, '00000000-0000-0000-0000-000000000000')
ORDER BY owner_id DESC, id DESC
LIMIT CAST(@lim AS BIGINT);

-- name: DeleteFile :execrows
DELETE FROM files WHERE id = @id;

-- name: OwnerUsage :one
-- file_usage is kept by triggers on files (see its migration).
SELECT CAST(COALESCE((SELECT bytes FROM file_usage WHERE owner_id = @owner_id), 0) AS BIGINT) AS total;

-- name: ListStorageKeysByOwner :many
SELECT storage_key FROM files WHERE owner_id = @owner_id;

-- name: StorageKeyExists :one
SELECT COUNT(*) FROM files WHERE storage_key = @storage_key;

-- name: ListFilesAfter :many
SELECT * FROM files WHERE id > @after_id ORDER BY id LIMIT CAST(@lim AS BIGINT);

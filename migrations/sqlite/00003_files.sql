-- +goose Up
CREATE TABLE files (
    id           TEXT PRIMARY KEY,
    owner_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    storage_key  TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX files_owner_idx ON files (owner_id, id);

-- +goose Down
DROP TABLE files;

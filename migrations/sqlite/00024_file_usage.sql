-- +goose Up
-- Bytes stored per account, kept by triggers in the same transaction as the
-- files rows: the upload quota check reads one row instead of summing every
-- file the account owns (a scan that grew with the account).
CREATE TABLE file_usage (
    owner_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    bytes    BIGINT NOT NULL
);
INSERT INTO file_usage (owner_id, bytes) SELECT owner_id, SUM(size) FROM files GROUP BY owner_id;

-- +goose StatementBegin
CREATE TRIGGER files_usage_insert AFTER INSERT ON files
BEGIN
    INSERT INTO file_usage (owner_id, bytes) VALUES (NEW.owner_id, NEW.size)
    ON CONFLICT (owner_id) DO UPDATE SET bytes = file_usage.bytes + excluded.bytes;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER files_usage_delete AFTER DELETE ON files
BEGIN
    UPDATE file_usage SET bytes = bytes - OLD.size WHERE owner_id = OLD.owner_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER files_usage_update AFTER UPDATE OF owner_id, size ON files
BEGIN
    UPDATE file_usage SET bytes = bytes - OLD.size WHERE owner_id = OLD.owner_id;
    INSERT INTO file_usage (owner_id, bytes) VALUES (NEW.owner_id, NEW.size)
    ON CONFLICT (owner_id) DO UPDATE SET bytes = file_usage.bytes + excluded.bytes;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER files_usage_update;
DROP TRIGGER files_usage_delete;
DROP TRIGGER files_usage_insert;
DROP TABLE file_usage;

-- +goose Up
-- Bytes stored per account, kept by triggers in the same transaction as the
-- files rows: the upload quota check reads one row instead of summing every
-- file the account owns (a scan that grew with the account).
CREATE TABLE file_usage (
    owner_id UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    bytes    BIGINT NOT NULL
);
INSERT INTO file_usage (owner_id, bytes) SELECT owner_id, SUM(size) FROM files GROUP BY owner_id;

-- The triggers run once per statement over its transition tables: a row
-- trigger would update one owner's counter once per row, and PostgreSQL keeps
-- every version of that row until the transaction ends, so a statement that
-- writes many files of one owner would slow down with each row.
-- +goose StatementBegin
CREATE FUNCTION file_usage_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO file_usage (owner_id, bytes)
        SELECT owner_id, SUM(size) FROM new_files GROUP BY owner_id
        ON CONFLICT (owner_id) DO UPDATE SET bytes = file_usage.bytes + EXCLUDED.bytes;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE file_usage SET bytes = file_usage.bytes - gone.bytes
        FROM (SELECT owner_id, SUM(size) AS bytes FROM old_files GROUP BY owner_id) gone
        WHERE file_usage.owner_id = gone.owner_id;
    ELSE
        INSERT INTO file_usage (owner_id, bytes)
        SELECT owner_id, SUM(delta) FROM (
            SELECT owner_id, size AS delta FROM new_files
            UNION ALL
            SELECT owner_id, -size FROM old_files
        ) changed GROUP BY owner_id
        ON CONFLICT (owner_id) DO UPDATE SET bytes = file_usage.bytes + EXCLUDED.bytes;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER files_usage_insert AFTER INSERT ON files
REFERENCING NEW TABLE AS new_files
FOR EACH STATEMENT EXECUTE FUNCTION file_usage_change();
CREATE TRIGGER files_usage_delete AFTER DELETE ON files
REFERENCING OLD TABLE AS old_files
FOR EACH STATEMENT EXECUTE FUNCTION file_usage_change();
CREATE TRIGGER files_usage_update AFTER UPDATE ON files
REFERENCING OLD TABLE AS old_files NEW TABLE AS new_files
FOR EACH STATEMENT EXECUTE FUNCTION file_usage_change();

-- +goose Down
DROP TRIGGER files_usage_update ON files;
DROP TRIGGER files_usage_delete ON files;
DROP TRIGGER files_usage_insert ON files;
DROP FUNCTION file_usage_change();
DROP TABLE file_usage;

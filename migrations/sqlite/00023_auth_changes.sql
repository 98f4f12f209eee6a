-- +goose Up
-- Every change that can end a session's right to be used (a revocation, a
-- deleted session, a deactivated, re-roled or deleted account), written by
-- triggers so that no code path can forget it. Each instance reads the rows
-- after the last one it has seen to drop its cached session states. SQLite
-- has one writer at a time, so seq order is commit order. Rows older than an
-- hour are pruned.
CREATE TABLE auth_changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT,
    user_id    TEXT,
    changed_at TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX auth_changes_changed_idx ON auth_changes (changed_at);

-- +goose StatementBegin
CREATE TRIGGER sessions_auth_change AFTER UPDATE OF revoked_at, expires_at, user_id ON sessions
WHEN OLD.revoked_at IS NOT NEW.revoked_at OR OLD.expires_at IS NOT NEW.expires_at OR OLD.user_id IS NOT NEW.user_id
BEGIN
    INSERT INTO auth_changes (session_id) VALUES (OLD.id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER sessions_auth_delete AFTER DELETE ON sessions
BEGIN
    INSERT INTO auth_changes (session_id) VALUES (OLD.id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER users_auth_change AFTER UPDATE OF is_active, role ON users
WHEN OLD.is_active IS NOT NEW.is_active OR OLD.role IS NOT NEW.role
BEGIN
    INSERT INTO auth_changes (user_id) VALUES (OLD.id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER users_auth_delete AFTER DELETE ON users
BEGIN
    INSERT INTO auth_changes (user_id) VALUES (OLD.id);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER users_auth_delete;
DROP TRIGGER users_auth_change;
DROP TRIGGER sessions_auth_delete;
DROP TRIGGER sessions_auth_change;
DROP TABLE auth_changes;

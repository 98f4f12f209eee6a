-- +goose Up
-- Every change that can end a session's right to be used or change what an
-- account looks like (a revocation, a deleted session, any change to an
-- account row, a second factor turned on or off, a deleted account), written
-- by triggers so that no code path can forget it. Each instance reads the
-- rows after the last one it has seen to drop its cached session states and
-- accounts. A write that changes nothing (LockUser) records nothing. SQLite
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
CREATE TRIGGER users_auth_change AFTER UPDATE ON users
WHEN OLD.email IS NOT NEW.email OR OLD.username IS NOT NEW.username OR OLD.display_name IS NOT NEW.display_name
  OR OLD.password_hash IS NOT NEW.password_hash OR OLD.role IS NOT NEW.role OR OLD.is_active IS NOT NEW.is_active
  OR OLD.email_verified_at IS NOT NEW.email_verified_at OR OLD.updated_at IS NOT NEW.updated_at OR OLD.id IS NOT NEW.id
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

-- +goose StatementBegin
CREATE TRIGGER mfa_auth_insert AFTER INSERT ON mfa_totp
BEGIN
    INSERT INTO auth_changes (user_id) VALUES (NEW.user_id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER mfa_auth_change AFTER UPDATE OF confirmed_at, user_id ON mfa_totp
WHEN OLD.confirmed_at IS NOT NEW.confirmed_at OR OLD.user_id IS NOT NEW.user_id
BEGIN
    INSERT INTO auth_changes (user_id) VALUES (OLD.user_id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER mfa_auth_delete AFTER DELETE ON mfa_totp
BEGIN
    INSERT INTO auth_changes (user_id) VALUES (OLD.user_id);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER mfa_auth_delete;
DROP TRIGGER mfa_auth_change;
DROP TRIGGER mfa_auth_insert;
DROP TRIGGER users_auth_delete;
DROP TRIGGER users_auth_change;
DROP TRIGGER sessions_auth_delete;
DROP TRIGGER sessions_auth_change;
DROP TABLE auth_changes;

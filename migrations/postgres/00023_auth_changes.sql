-- +goose Up
-- Every change that can end a session's right to be used or change what an
-- account looks like (a revocation, a deleted session, any change to an
-- account row, a second factor turned on or off, a deleted account), written
-- by triggers so that no code path can forget it. A write that changes
-- nothing (LockUser) records nothing. Each instance reads the rows
-- of transactions it has not yet seen finish to drop its cached session
-- states: pos is the writing transaction's id, and a reader that has seen
-- every transaction below its snapshot's xmin finish has missed nothing, in
-- whatever order they committed. Rows older than an hour are pruned.
CREATE TABLE auth_changes (
    seq        BIGSERIAL PRIMARY KEY,
    pos        BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    session_id UUID,
    user_id    UUID,
    changed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX auth_changes_pos_idx ON auth_changes (pos);
CREATE INDEX auth_changes_changed_idx ON auth_changes (changed_at);

-- +goose StatementBegin
-- One row per changed row: a session by its id; an account, or its second
-- factor, by the account's id (both ids when a row moves between them).
CREATE FUNCTION auth_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'sessions' THEN
        INSERT INTO auth_changes (session_id) VALUES (OLD.id);
    ELSIF TG_TABLE_NAME = 'users' THEN
        INSERT INTO auth_changes (user_id) VALUES (OLD.id);
    ELSE
        IF TG_OP <> 'INSERT' THEN
            INSERT INTO auth_changes (user_id) VALUES (OLD.user_id);
        END IF;
        IF TG_OP <> 'DELETE' THEN
            INSERT INTO auth_changes (user_id) VALUES (NEW.user_id);
        END IF;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER sessions_auth_change AFTER UPDATE OF revoked_at, expires_at, user_id ON sessions
FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.expires_at IS DISTINCT FROM NEW.expires_at OR OLD.user_id IS DISTINCT FROM NEW.user_id)
EXECUTE FUNCTION auth_change();
CREATE TRIGGER sessions_auth_delete AFTER DELETE ON sessions
FOR EACH ROW EXECUTE FUNCTION auth_change();
CREATE TRIGGER users_auth_change AFTER UPDATE ON users
FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
EXECUTE FUNCTION auth_change();
CREATE TRIGGER users_auth_delete AFTER DELETE ON users
FOR EACH ROW EXECUTE FUNCTION auth_change();

CREATE TRIGGER mfa_auth_insert_delete AFTER INSERT OR DELETE ON mfa_totp
FOR EACH ROW EXECUTE FUNCTION auth_change();
CREATE TRIGGER mfa_auth_change AFTER UPDATE OF confirmed_at, user_id ON mfa_totp
FOR EACH ROW WHEN (OLD.confirmed_at IS DISTINCT FROM NEW.confirmed_at OR OLD.user_id IS DISTINCT FROM NEW.user_id)
EXECUTE FUNCTION auth_change();

-- +goose Down
DROP TRIGGER mfa_auth_change ON mfa_totp;
DROP TRIGGER mfa_auth_insert_delete ON mfa_totp;
DROP TRIGGER users_auth_delete ON users;
DROP TRIGGER users_auth_change ON users;
DROP TRIGGER sessions_auth_delete ON sessions;
DROP TRIGGER sessions_auth_change ON sessions;
DROP FUNCTION auth_change();
DROP TABLE auth_changes;

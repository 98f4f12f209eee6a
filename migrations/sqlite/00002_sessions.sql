-- +goose Up
CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_agent    TEXT NOT NULL DEFAULT '',
    ip            TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    last_used_at  TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL,
    revoked_at    TIMESTAMP,
    revoke_reason TEXT
);
CREATE INDEX sessions_user_idx ON sessions (user_id, id);

-- Every refresh token a session was ever given, by hash. The one with no
-- replaced_at is current; presenting any other one is reuse.
CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at   TIMESTAMP NOT NULL,
    replaced_at TIMESTAMP
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

-- Failed-login state keyed by a hash of the normalized email, so unknown
-- accounts are throttled exactly like known ones.
CREATE TABLE login_throttle (
    key              TEXT PRIMARY KEY,
    failures         INTEGER NOT NULL,
    first_failure_at TIMESTAMP NOT NULL,
    locked_until     TIMESTAMP
);

CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id);

-- +goose Down
DROP TABLE password_resets;
DROP TABLE login_throttle;
DROP TABLE refresh_tokens;
DROP TABLE sessions;

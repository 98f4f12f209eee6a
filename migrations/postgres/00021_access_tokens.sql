-- +goose Up
-- Personal access tokens, known only by their SHA-256 (they carry 178 random
-- bits, so a fast hash is enough). scopes is space-separated. Revoked rows
-- stay for the record; every request checks revoked_at and expires_at.
CREATE TABLE access_tokens (
    id            UUID PRIMARY KEY,
    user_id       UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    scopes        TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    last_used_at  TIMESTAMPTZ,
    expires_at    TIMESTAMPTZ NOT NULL,
    revoked_at    TIMESTAMPTZ,
    revoke_reason TEXT
);
CREATE INDEX access_tokens_user_idx ON access_tokens (user_id, id);

-- +goose Down
DROP TABLE access_tokens;

-- +goose Up
-- Every token sent by mail (password reset, email change, address
-- verification) lives here, stored as a hash: one table, one set of rules.
-- email is the address the token proves (the new address of an email change,
-- the address being verified); NULL for password resets.
CREATE TABLE mail_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('password_reset', 'email_change', 'email_verify')),
    email      TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);
CREATE INDEX mail_tokens_user_idx ON mail_tokens (user_id, purpose);

INSERT INTO mail_tokens (token_hash, user_id, purpose, email, created_at, expires_at, used_at)
SELECT token_hash, user_id, 'password_reset', NULL, created_at, expires_at, used_at FROM password_resets;
DROP TABLE password_resets;

-- NULL until the account proves it receives mail at its address.
ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMP;

-- +goose Down
ALTER TABLE users DROP COLUMN email_verified_at;
CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id);
INSERT INTO password_resets (token_hash, user_id, created_at, expires_at, used_at)
SELECT token_hash, user_id, created_at, expires_at, used_at FROM mail_tokens WHERE purpose = 'password_reset';
DROP TABLE mail_tokens;

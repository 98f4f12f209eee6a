-- name: CreateSession :one
INSERT INTO sessions (id, user_id, user_agent, ip, created_at, last_used_at, expires_at)
VALUES (@id, @user_id, @user_agent, @ip, @created_at, @last_used_at, @expires_at)
RETURNING *;

-- name: GetSession :one
SELECT * FROM sessions WHERE id = @id;

-- name: ListActiveSessions :many
SELECT * FROM sessions
WHERE user_id = @user_id AND revoked_at IS NULL AND expires_at > @now
ORDER BY id DESC;

-- name: TouchSession :exec
UPDATE sessions SET last_used_at = @last_used_at, ip = @ip, user_agent = @user_agent WHERE id = @id;

-- name: RevokeSession :execrows
UPDATE sessions SET revoked_at = @revoked_at, revoke_reason = @revoke_reason
WHERE id = @id AND user_id = @user_id AND revoked_at IS NULL;

-- name: RevokeUserSessions :many
UPDATE sessions SET revoked_at = @revoked_at, revoke_reason = @revoke_reason
WHERE user_id = @user_id AND revoked_at IS NULL AND id <> @except_id
RETURNING id;

-- name: SessionAuthState :one
SELECT s.user_id, s.revoked_at, s.expires_at, u.is_active, u.role
FROM sessions s JOIN users u ON u.id = s.user_id
WHERE s.id = @id;

-- name: InsertRefreshToken :exec
INSERT INTO refresh_tokens (token_hash, session_id, issued_at) VALUES (@token_hash, @session_id, @issued_at);

-- name: GetRefreshToken :one
SELECT * FROM refresh_tokens WHERE token_hash = @token_hash;

-- name: MarkRefreshTokenReplaced :execrows
UPDATE refresh_tokens SET replaced_at = @replaced_at
WHERE token_hash = @token_hash AND replaced_at IS NULL;

-- name: CurrentRefreshToken :one
SELECT * FROM refresh_tokens WHERE session_id = @session_id AND replaced_at IS NULL;

-- name: GetLoginThrottle :one
SELECT * FROM login_throttle WHERE key = @key;

-- name: UpsertLoginThrottle :exec
INSERT INTO login_throttle (key, failures, first_failure_at, locked_until)
VALUES (@key, @failures, @first_failure_at, @locked_until)
ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
    first_failure_at = excluded.first_failure_at, locked_until = excluded.locked_until;

-- name: DeleteLoginThrottle :exec
DELETE FROM login_throttle WHERE key = @key;

-- name: LockLoginThrottle :one
-- Creates the key's row if needed and, being a write, locks it until the
-- transaction ends (PostgreSQL row lock; SQLite's single writer), so
-- concurrent attempts on every instance count one after another.
INSERT INTO login_throttle (key, failures, first_failure_at, locked_until)
VALUES (@key, 0, @now, NULL)
ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures
RETURNING *;

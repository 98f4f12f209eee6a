-- name: CreateAccessToken :one
INSERT INTO access_tokens (id, user_id, name, token_hash, scopes, created_at, expires_at)
VALUES (@id, @user_id, @name, @token_hash, @scopes, @created_at, @expires_at)
RETURNING *;

-- name: ListLiveAccessTokens :many
SELECT * FROM access_tokens
WHERE user_id = @user_id AND revoked_at IS NULL AND expires_at > @now
ORDER BY id DESC
LIMIT CAST(@lim AS BIGINT);

-- name: ListExpiredAccessTokens :many
SELECT * FROM access_tokens
WHERE user_id = @user_id AND revoked_at IS NULL AND expires_at <= @now
ORDER BY id DESC
LIMIT CAST(@lim AS BIGINT);

-- name: CountLiveAccessTokens :one
SELECT COUNT(*) FROM access_tokens WHERE user_id = @user_id AND revoked_at IS NULL AND expires_at > @now;

-- name: AccessTokenAuthState :one
SELECT t.id, t.user_id, t.scopes, t.expires_at, t.revoked_at, t.last_used_at, u.is_active, u.role
FROM access_tokens t JOIN users u ON u.id = t.user_id
WHERE t.token_hash = @token_hash;

-- name: TouchAccessToken :exec
-- At most one write per token per interval: last_used_at is coarse on purpose.
UPDATE access_tokens SET last_used_at = @now
WHERE id = @id AND (last_used_at IS NULL OR last_used_at < @stale_before);

-- name: RevokeAccessToken :execrows
UPDATE access_tokens SET revoked_at = @revoked_at, revoke_reason = @revoke_reason
WHERE id = @id AND user_id = @user_id AND revoked_at IS NULL;

-- name: RevokeUserAccessTokens :many
UPDATE access_tokens SET revoked_at = @revoked_at, revoke_reason = @revoke_reason
WHERE user_id = @user_id AND revoked_at IS NULL
RETURNING id;

-- name: CreateMailToken :exec
INSERT INTO mail_tokens (token_hash, user_id, purpose, email, created_at, expires_at)
VALUES (@token_hash, @user_id, @purpose, @email, @created_at, @expires_at);

-- name: ConsumeMailToken :one
-- Spends an unexpired, unused token of one purpose; a second use finds nothing.
UPDATE mail_tokens SET used_at = @now
WHERE token_hash = @token_hash AND purpose = @purpose AND used_at IS NULL AND expires_at > @now
RETURNING user_id, email;

-- name: DeleteMailTokens :exec
-- Voids an account's tokens of one purpose, or of every purpose when it is empty.
DELETE FROM mail_tokens
WHERE user_id = @user_id AND (CAST(@purpose AS TEXT) = '' OR purpose = CAST(@purpose AS TEXT));

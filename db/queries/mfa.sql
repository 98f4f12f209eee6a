-- name: GetTOTP :one
SELECT * FROM mfa_totp WHERE user_id = @user_id;

-- name: StartTOTP :execrows
-- Stores a new pending factor, replacing an earlier pending one; a confirmed
-- factor is left alone (0 rows): it must be disabled first.
INSERT INTO mfa_totp (user_id, secret, confirmed_at, last_used_step, created_at, updated_at)
VALUES (@user_id, @secret, NULL, 0, @now, @now)
ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, last_used_step = 0,
    created_at = excluded.created_at, updated_at = excluded.updated_at
WHERE mfa_totp.confirmed_at IS NULL;

-- name: ConfirmTOTP :execrows
-- Confirms the pending factor whose secret the code was checked against; a
-- factor enrolled again in the meantime has another secret and stays pending.
UPDATE mfa_totp SET confirmed_at = @now, last_used_step = @step, updated_at = @now
WHERE user_id = @user_id AND secret = @secret AND confirmed_at IS NULL AND last_used_step < @step;

-- name: UseTOTPStep :execrows
-- Accepts a code's time step once: a replay, or a code older than the last
-- accepted one, changes no row.
UPDATE mfa_totp SET last_used_step = @step, updated_at = @now
WHERE user_id = @user_id AND confirmed_at IS NOT NULL AND last_used_step < @step;

-- name: ResealTOTP :execrows
-- Replaces a secret sealed under an older key, unless it changed meanwhile.
UPDATE mfa_totp SET secret = @new_secret WHERE user_id = @user_id AND secret = @old_secret;

-- name: ConfirmedTOTPInRange :many
-- The accounts with a confirmed factor whose ids lie in lo..hi: one read
-- for a page of accounts instead of one per account.
SELECT user_id FROM mfa_totp
WHERE confirmed_at IS NOT NULL AND user_id >= @lo AND user_id <= @hi
ORDER BY user_id;

-- name: DeleteTOTP :execrows
DELETE FROM mfa_totp WHERE user_id = @user_id;

-- name: ListTOTPSecretsAfter :many
SELECT user_id, secret FROM mfa_totp
WHERE user_id > @after
ORDER BY user_id
LIMIT CAST(@lim AS BIGINT);

-- name: CountConfirmedTOTP :one
SELECT COUNT(*) FROM mfa_totp WHERE confirmed_at IS NOT NULL;

-- name: InsertRecoveryCode :exec
INSERT INTO mfa_recovery_codes (code_hash, user_id, created_at) VALUES (@code_hash, @user_id, @created_at);

-- name: DeleteRecoveryCodes :exec
DELETE FROM mfa_recovery_codes WHERE user_id = @user_id;

-- name: UseRecoveryCode :execrows
UPDATE mfa_recovery_codes SET used_at = @now
WHERE code_hash = @code_hash AND user_id = @user_id AND used_at IS NULL;

-- name: CountUnusedRecoveryCodes :one
SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = @user_id AND used_at IS NULL;

-- name: CreateMFAChallenge :exec
INSERT INTO mfa_challenges (token_hash, user_id, password_fp, created_at, expires_at)
VALUES (@token_hash, @user_id, @password_fp, @created_at, @expires_at);

-- name: GetMFAChallenge :one
SELECT * FROM mfa_challenges WHERE token_hash = @token_hash;

-- name: ConsumeMFAChallenge :execrows
UPDATE mfa_challenges SET used_at = @now
WHERE token_hash = @token_hash AND used_at IS NULL AND expires_at > @now;

-- name: DeleteSpentMFAChallenges :exec
DELETE FROM mfa_challenges WHERE user_id = @user_id AND (used_at IS NOT NULL OR expires_at <= @now);

-- name: DeleteMFAChallenges :exec
DELETE FROM mfa_challenges WHERE user_id = @user_id;

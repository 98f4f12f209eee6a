-- name: LockMailRecipient :exec
-- Creates or touches the recipient's row and, being a write, locks it until
-- the transaction ends, so the count that follows cannot race another
-- request for the same address.
INSERT INTO mail_recipients (recipient_key, last_queued_at) VALUES (@recipient_key, @now)
ON CONFLICT (recipient_key) DO UPDATE SET last_queued_at = excluded.last_queued_at;

-- name: CountRecentMail :one
SELECT COUNT(*) FROM mail_outbox WHERE recipient_key = @recipient_key AND created_at > @since;

-- name: InsertMail :exec
INSERT INTO mail_outbox (id, recipient_key, recipient, subject, body, discard, created_at, next_attempt_at, sent_at)
VALUES (@id, @recipient_key, @recipient, @subject, @body, @discard, @created_at, @next_attempt_at, @sent_at);

-- name: ClaimMail :many
-- Leases up to lim due messages to claim_token. The outer conditions repeat
-- the inner ones: on PostgreSQL a concurrent claimer that waited for a row
-- re-checks them against the row as the winner left it, and skips it.
UPDATE mail_outbox
SET claimed_until = @claimed_until, claim_token = @claim_token, attempts = attempts + 1
WHERE id IN (
        SELECT o.id FROM mail_outbox o
        WHERE o.sent_at IS NULL AND o.failed_at IS NULL AND o.next_attempt_at <= @now
          AND (o.claimed_until IS NULL OR o.claimed_until <= @now)
        ORDER BY o.next_attempt_at, o.id
        LIMIT CAST(@lim AS BIGINT))
  AND sent_at IS NULL AND failed_at IS NULL
  AND (claimed_until IS NULL OR claimed_until <= @now)
RETURNING *;

-- name: MarkMailSent :execrows
-- Keeps the row (the per-recipient limit counts it) without the address or
-- the body, which may hold a live link.
UPDATE mail_outbox
SET sent_at = @sent_at, recipient = @masked_recipient, body = '', last_error = NULL,
    claimed_until = NULL, claim_token = NULL
WHERE id = @id AND claim_token = @claim_token;

-- name: RetryMail :execrows
UPDATE mail_outbox
SET next_attempt_at = @next_attempt_at, last_error = @last_error, claimed_until = NULL, claim_token = NULL
WHERE id = @id AND claim_token = @claim_token;

-- name: FailMail :execrows
UPDATE mail_outbox
SET failed_at = @failed_at, last_error = @last_error, recipient = @masked_recipient, body = '',
    claimed_until = NULL, claim_token = NULL
WHERE id = @id AND claim_token = @claim_token;

-- name: PurgeMail :execrows
DELETE FROM mail_outbox WHERE (sent_at IS NOT NULL OR failed_at IS NOT NULL) AND created_at < @before;

-- name: PurgeMailRecipients :execrows
DELETE FROM mail_recipients WHERE last_queued_at < @before;

-- name: CountPendingMail :one
SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL;

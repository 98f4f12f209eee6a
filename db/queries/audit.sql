-- name: AdvanceAuditChain :one
UPDATE audit_chain SET last_seq = last_seq + 1 WHERE id = 1
RETURNING last_seq, last_hash;

-- name: SetAuditChainHash :exec
UPDATE audit_chain SET last_hash = @last_hash WHERE id = 1;

-- name: InsertAuditEvent :exec
INSERT INTO audit_events (seq, id, occurred_at, actor_id, action, target_type, target_id, ip, user_agent, outcome, details, prev_hash, hash)
VALUES (@seq, @id, @occurred_at, @actor_id, @action, @target_type, @target_id, @ip, @user_agent, @outcome, @details, @prev_hash, @hash);

-- name: ListAuditEvents :many
SELECT * FROM audit_events
WHERE seq < CAST(@before_seq AS BIGINT)
  AND (CAST(@actor AS TEXT) = '' OR CAST(actor_id AS TEXT) = CAST(@actor AS TEXT))
  AND (CAST(@action AS TEXT) = '' OR action = CAST(@action AS TEXT))
  AND occurred_at >= @from_time
  AND occurred_at < @to_time
ORDER BY seq DESC
LIMIT CAST(@lim AS BIGINT);

-- name: AuditEventsAfter :many
SELECT * FROM audit_events
WHERE seq > CAST(@after_seq AS BIGINT)
ORDER BY seq
LIMIT CAST(@lim AS BIGINT);

-- name: GetAuditChain :one
SELECT last_seq, last_hash FROM audit_chain WHERE id = 1;

-- +goose Up
-- Mail waiting to be sent (and, for a while, mail that was): written in the
-- same transaction as the change that causes it, drained by a background
-- sender. A row is claimed by setting claimed_until (a lease) and
-- claim_token in one conditional UPDATE, so several instances draining one
-- database never send the same row at once, and a sender that dies mid-way
-- loses its claim when the lease runs out.
-- recipient_key is a SHA-256 of the normalized address: the per-recipient
-- limit counts by it, and it stays after recipient and body are blanked
-- once the message is sent.
-- A discard row is the stand-in written for an address with no account,
-- so that answering for it costs the same work; the sender never sends it.
CREATE TABLE mail_outbox (
    id              TEXT PRIMARY KEY,
    recipient_key   TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    discard         BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      TIMESTAMP NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    claimed_until   TIMESTAMP,
    claim_token     TEXT,
    last_error      TEXT,
    sent_at         TIMESTAMP,
    failed_at       TIMESTAMP
);
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX mail_outbox_recipient_idx ON mail_outbox (recipient_key, created_at);
CREATE INDEX mail_outbox_created_idx ON mail_outbox (created_at);

-- One row per recipient that was mailed recently. Queuing a message first
-- upserts its recipient's row, which locks it until the transaction ends
-- (PostgreSQL row lock; SQLite's single writer), so concurrent requests for
-- one address count against the limit one after another.
CREATE TABLE mail_recipients (
    recipient_key TEXT PRIMARY KEY,
    last_queued_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE mail_recipients;
DROP TABLE mail_outbox;

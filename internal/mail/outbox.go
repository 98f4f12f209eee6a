package mail

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"secureapi/internal/audit"
	"secureapi/internal/platform/logging"
)

// Queued is one row of the outbox.
type Queued struct {
	ID string
	// RecipientKey is RecipientKey(To): the per-recipient limit counts by it.
	RecipientKey string
	Message
	// Discard marks the stand-in written for an address with no account; it
	// is stored as already done and never sent.
	Discard       bool
	CreatedAt     time.Time
	NextAttemptAt time.Time
	// Attempts counts claims, the current one included.
	Attempts int
	SentAt   *time.Time
}

// Store persists the outbox. LockRecipient, CountSince and Insert run in the
// transaction of the change that causes the mail; the sender's methods each
// are one statement.
type Store interface {
	// LockRecipient locks key's recipient row until the transaction ends,
	// creating it if needed, so that requests for one address count one
	// after another on every instance.
	LockRecipient(ctx context.Context, key string, now time.Time) error
	// CountSince counts the messages queued for key after since.
	CountSince(ctx context.Context, key string, since time.Time) (int64, error)
	Insert(ctx context.Context, q Queued) error
	// Claim leases up to limit due messages (neither sent nor failed, next
	// attempt at or before now, unclaimed or with an expired lease) to
	// token until until, and counts the attempt.
	Claim(ctx context.Context, now, until time.Time, token string, limit int) ([]Queued, error)
	// MarkSent, Retry and Fail settle a claimed message; false when the
	// claim was lost (its lease ran out and another sender took it).
	// MarkSent and Fail blank the body and keep only maskedTo.
	MarkSent(ctx context.Context, id, token, maskedTo string, at time.Time) (bool, error)
	Retry(ctx context.Context, id, token string, next time.Time, lastErr string) (bool, error)
	Fail(ctx context.Context, id, token, maskedTo string, at time.Time, lastErr string) (bool, error)
	// Purge deletes settled messages and recipient rows older than before.
	Purge(ctx context.Context, before time.Time) (int64, error)
	// Pending counts the messages not yet settled.
	Pending(ctx context.Context) (int64, error)
}

// Stores is what queuing needs from the caller's unit of work.
type Stores interface {
	Outbox() Store
	Audit() audit.Store
}

// LimitWindow is the window of the per-recipient limit.
const LimitWindow = time.Hour

// DefaultPerRecipient is the per-recipient limit when none is configured.
const DefaultPerRecipient = 5

// ActionDropped is the audit action of a message not queued because its
// recipient reached the limit.
const ActionDropped = "mail.dropped"

// RecipientKey is the stored key of an address: a hash of its lower-case
// form, so that counting never needs the address itself.
func RecipientKey(addr string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(addr))))
	return hex.EncodeToString(sum[:])
}

// QueueConfig configures a Queue. Zero values take defaults: PerRecipient
// DefaultPerRecipient, Now time.Now, Log discarding; Audit may be nil.
type QueueConfig struct {
	// PerRecipient is how many messages one address may be sent per
	// LimitWindow; beyond it messages are dropped.
	PerRecipient int
	Audit        *audit.Service
	Log          *slog.Logger
	Now          func() time.Time
	// Observe, when set, is told of every message queued ("queued"),
	// dropped by the limit ("dropped") or written as a stand-in ("discard").
	Observe func(outcome string)
}

// Queue writes messages into the outbox inside the caller's transaction,
// under the per-recipient limit.
type Queue struct {
	cfg  QueueConfig
	wake func()
}

// NewQueue returns a Queue.
func NewQueue(cfg QueueConfig) *Queue {
	if cfg.PerRecipient <= 0 {
		cfg.PerRecipient = DefaultPerRecipient
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Queue{cfg: cfg}
}

// WakeWith sets what Wake calls: the local sender's prompt.
func (q *Queue) WakeWith(f func()) { q.wake = f }

// Wake tells the local sender that a transaction that queued mail has
// committed, so that it sends at once rather than at its next poll.
func (q *Queue) Wake() {
	if q != nil && q.wake != nil {
		q.wake()
	}
}

// Add queues msgs in st's transaction; the caller commits it and then calls
// Wake. A message whose recipient was already queued PerRecipient messages
// within LimitWindow is dropped: not queued, logged and audited with the
// address masked, and the caller answers as if it had been sent. Recipients
// are locked in key order, and Add audits, so call it before the
// transaction's own audit events (which lock the chain head last).
func (q *Queue) Add(ctx context.Context, st Stores, msgs ...Message) error {
	return q.add(ctx, st, msgs, false)
}

// AddStandIn does the work of Add for one message to addr without queuing
// anything that will be sent: an answer about an address with no account
// then takes as long as one about an address with an account.
func (q *Queue) AddStandIn(ctx context.Context, st Stores, addr, subject string) error {
	return q.add(ctx, st, []Message{{To: addr, Subject: subject}}, true)
}

func (q *Queue) add(ctx context.Context, st Stores, msgs []Message, discard bool) error {
	type keyed struct {
		key string
		m   Message
	}
	ks := make([]keyed, len(msgs))
	for i, m := range msgs {
		ks[i] = keyed{RecipientKey(m.To), m}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int { return cmp.Compare(a.key, b.key) })
	now := q.cfg.Now().UTC().Truncate(time.Microsecond)
	for _, k := range ks {
		if err := st.Outbox().LockRecipient(ctx, k.key, now); err != nil {
			return err
		}
		n, err := st.Outbox().CountSince(ctx, k.key, now.Add(-LimitWindow))
		if err != nil {
			return err
		}
		if n >= int64(q.cfg.PerRecipient) {
			if err := q.dropped(ctx, st, k.m); err != nil {
				return err
			}
			continue
		}
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		row := Queued{ID: id.String(), RecipientKey: k.key, Message: k.m, CreatedAt: now, NextAttemptAt: now}
		if discard {
			// Nothing to send and nothing to keep: done as it is written.
			row.Discard, row.SentAt = true, &now
			row.To, row.Body = logging.MaskEmail(k.m.To), ""
		}
		if err := st.Outbox().Insert(ctx, row); err != nil {
			return err
		}
		q.observe(map[bool]string{false: "queued", true: "discard"}[discard])
	}
	return nil
}

// dropped logs and audits a message the limit stopped. A stand-in is
// treated alike, so that even at the limit the answer for an address with
// no account costs the same.
func (q *Queue) dropped(ctx context.Context, st Stores, m Message) error {
	q.observe("dropped")
	masked := logging.MaskEmail(m.To)
	q.cfg.Log.WarnContext(ctx, "mail dropped: recipient limit reached", "to", masked, "subject", m.Subject,
		"limit_per_hour", q.cfg.PerRecipient)
	if q.cfg.Audit == nil {
		return nil
	}
	return q.cfg.Audit.RecordIn(ctx, st.Audit(), audit.Entry{
		Action: ActionDropped, Outcome: audit.Failure,
		Details: map[string]any{"reason": "recipient_limit", "to": masked, "subject": m.Subject},
	})
}

func (q *Queue) observe(outcome string) {
	if q.cfg.Observe != nil {
		q.cfg.Observe(outcome)
	}
}

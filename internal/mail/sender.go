package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"time"

	"secureapi/internal/platform/logging"
)

// Sender defaults, for zero SenderConfig fields.
const (
	DefaultPoll        = 2 * time.Second
	DefaultLease       = 2 * time.Minute
	DefaultBatch       = 20
	DefaultMaxAttempts = 8
	DefaultBackoff     = 15 * time.Second
	DefaultMaxBackoff  = time.Hour
	// DefaultRetention is how long settled messages stay (without address
	// or body) before they are purged; at least LimitWindow, which counts them.
	DefaultRetention = 7 * 24 * time.Hour
)

// SenderConfig configures a Sender. Store and Mailer are required.
type SenderConfig struct {
	Store  Store
	Mailer Mailer
	Now    func() time.Time
	Log    *slog.Logger
	// Poll is how often the outbox is checked without a Wake: it picks up
	// mail queued by other instances and retries that fall due.
	Poll time.Duration
	// Lease is how long a claim lasts; a sender that dies mid-send loses its
	// messages to another sender after it. Longer than one send can take.
	Lease time.Duration
	Batch int
	// MaxAttempts is how many sends are tried before a message is given up.
	MaxAttempts int
	// Backoff is the wait after the first failure, doubled after each
	// further one up to MaxBackoff, with ±20% jitter.
	Backoff, MaxBackoff time.Duration
	Retention           time.Duration
	// Observe, when set, is told of every send: "sent", "retry" or "failed".
	Observe func(outcome string)
}

// Sender drains the outbox through a Mailer: in the background (Run), and
// on demand (DrainOnce). Delivery is at least once: a sender that stops
// after the mail server accepted a message but before it recorded that
// sends it again once the lease runs out.
type Sender struct {
	cfg  SenderConfig
	wake chan struct{}
	// mu makes DrainOnce wait for a drain in progress, so that when it
	// returns every message due before the call is settled.
	mu        sync.Mutex
	lastPurge time.Time
}

// NewSender returns a Sender.
func NewSender(cfg SenderConfig) *Sender {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	set := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	set(&cfg.Poll, DefaultPoll)
	set(&cfg.Lease, DefaultLease)
	set(&cfg.Backoff, DefaultBackoff)
	set(&cfg.MaxBackoff, DefaultMaxBackoff)
	set(&cfg.Retention, DefaultRetention)
	cfg.Retention = max(cfg.Retention, LimitWindow)
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	return &Sender{cfg: cfg, wake: make(chan struct{}, 1)}
}

// Wake makes Run drain now instead of at its next poll. It never blocks.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run drains the outbox until ctx is done: at once, on every Wake and every
// Poll. Failures are logged and retried at the next round.
func (s *Sender) Run(ctx context.Context) {
	tick := time.NewTicker(s.cfg.Poll)
	defer tick.Stop()
	for {
		if _, err := s.DrainOnce(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Log.ErrorContext(ctx, "mail outbox drain failed", "err", err)
		}
		s.purge(ctx)
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-tick.C:
		}
	}
}

// DrainOnce sends every message that is due, batch after batch, and
// returns how many it settled (sent, rescheduled or given up). It waits for
// a drain already running in this process to end first.
func (s *Sender) DrainOnce(ctx context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	settled := 0
	for ctx.Err() == nil {
		token, err := newClaimToken()
		if err != nil {
			return settled, err
		}
		now := s.now()
		batch, err := s.cfg.Store.Claim(ctx, now, now.Add(s.cfg.Lease), token, s.cfg.Batch)
		if err != nil {
			return settled, err
		}
		for _, q := range batch {
			s.deliver(ctx, q, token)
			settled++
		}
		if len(batch) < s.cfg.Batch {
			break
		}
	}
	return settled, nil
}

// deliver sends one claimed message and records the outcome. The outcome
// is recorded even when ctx ends meanwhile (the app is stopping), so that
// the claim is released for the next start.
func (s *Sender) deliver(ctx context.Context, q Queued, token string) {
	err := s.cfg.Mailer.Send(ctx, q.Message)
	rctx := context.WithoutCancel(ctx)
	masked := logging.MaskEmail(q.To)
	var (
		ok      bool
		outcome string
		serr    error
	)
	switch {
	case err == nil:
		outcome = "sent"
		ok, serr = s.cfg.Store.MarkSent(rctx, q.ID, token, masked, s.now())
	case q.Attempts >= s.cfg.MaxAttempts:
		outcome = "failed"
		msg := s.errText(err, q.To)
		s.cfg.Log.ErrorContext(ctx, "mail given up", "id", q.ID, "to", masked, "subject", q.Subject, "attempts", q.Attempts, "err", msg)
		ok, serr = s.cfg.Store.Fail(rctx, q.ID, token, masked, s.now(), msg)
	default:
		outcome = "retry"
		next := s.now().Add(s.backoff(q.Attempts))
		msg := s.errText(err, q.To)
		s.cfg.Log.WarnContext(ctx, "sending mail failed; will retry", "id", q.ID, "to", masked, "subject", q.Subject,
			"attempts", q.Attempts, "next_attempt_at", next, "err", msg)
		ok, serr = s.cfg.Store.Retry(rctx, q.ID, token, next, msg)
	}
	if s.cfg.Observe != nil {
		s.cfg.Observe(outcome)
	}
	switch {
	case serr != nil:
		s.cfg.Log.ErrorContext(ctx, "recording a mail outcome failed", "id", q.ID, "outcome", outcome, "err", serr)
	case !ok:
		s.cfg.Log.WarnContext(ctx, "mail claim expired before its outcome was recorded; it may be sent again", "id", q.ID, "outcome", outcome)
	}
}

// errText is a send error fit for the log and the outbox row: a mail
// server's answer can quote the recipient, which is masked.
func (s *Sender) errText(err error, to string) string {
	msg := err.Error()
	if to != "" {
		msg = strings.ReplaceAll(msg, to, logging.MaskEmail(to))
	}
	if len(msg) > 500 {
		msg = msg[:500]
	}
	return msg
}

// backoff is the wait before attempt n+1 after n failed attempts.
func (s *Sender) backoff(n int) time.Duration {
	d := s.cfg.Backoff
	for i := 1; i < n && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.cfg.MaxBackoff)
	jitter := time.Duration(float64(d) * 0.2 * (2*mrand.Float64() - 1))
	return d + jitter
}

// purge removes settled messages older than Retention, at most hourly.
func (s *Sender) purge(ctx context.Context) {
	now := s.now()
	if now.Sub(s.lastPurge) < time.Hour {
		return
	}
	s.lastPurge = now
	if _, err := s.cfg.Store.Purge(ctx, now.Add(-s.cfg.Retention)); err != nil && !errors.Is(err, context.Canceled) {
		s.cfg.Log.WarnContext(ctx, "purging the mail outbox failed", "err", err)
	}
}

func (s *Sender) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }

func newClaimToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

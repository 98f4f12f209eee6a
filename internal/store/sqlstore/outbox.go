package sqlstore

import (
	"context"
	"errors"
	"time"

	"secureapi/gen/sqlitedb"
	"secureapi/internal/mail"
)

// Outbox implements mail.Store.
type Outbox struct{ base }

var _ mail.Store = (*Outbox)(nil)

func NewOutbox(e Engine) *Outbox { return &Outbox{base{e: e}} }

var errNoMail = errors.New("no such outbox message")

func (s *Outbox) err(err error) error { return s.mapErr(err, errNoMail, nil) }

func (s *Outbox) LockRecipient(ctx context.Context, key string, now time.Time) error {
	return s.err(s.w().LockMailRecipient(ctx, sqlitedb.LockMailRecipientParams{RecipientKey: key, Now: ts(now)}))
}

func (s *Outbox) CountSince(ctx context.Context, key string, since time.Time) (int64, error) {
	n, err := s.r().CountRecentMail(ctx, sqlitedb.CountRecentMailParams{RecipientKey: key, Since: ts(since)})
	return n, s.err(err)
}

func (s *Outbox) Insert(ctx context.Context, q mail.Queued) error {
	return s.err(s.w().InsertMail(ctx, sqlitedb.InsertMailParams{
		ID: q.ID, RecipientKey: q.RecipientKey, Recipient: q.To, Subject: q.Subject, Body: q.Body,
		Discard: q.Discard, CreatedAt: ts(q.CreatedAt), NextAttemptAt: ts(q.NextAttemptAt), SentAt: tsp(q.SentAt),
	}))
}

func (s *Outbox) Claim(ctx context.Context, now, until time.Time, token string, limit int) ([]mail.Queued, error) {
	rows, err := s.w().ClaimMail(ctx, sqlitedb.ClaimMailParams{
		ClaimedUntil: tsp(&until), ClaimToken: &token, Now: ts(now), Lim: clampLimit(limit),
	})
	if err != nil {
		return nil, s.err(err)
	}
	out := make([]mail.Queued, len(rows))
	for i, r := range rows {
		out[i] = mail.Queued{
			ID: r.ID, RecipientKey: r.RecipientKey, Message: mail.Message{To: r.Recipient, Subject: r.Subject, Body: r.Body},
			Discard: r.Discard, CreatedAt: utc(r.CreatedAt), NextAttemptAt: utc(r.NextAttemptAt),
			Attempts: int(r.Attempts), SentAt: utcp(r.SentAt),
		}
	}
	return out, nil
}

func (s *Outbox) MarkSent(ctx context.Context, id, token, maskedTo string, at time.Time) (bool, error) {
	n, err := s.w().MarkMailSent(ctx, sqlitedb.MarkMailSentParams{SentAt: tsp(&at), MaskedRecipient: maskedTo, ID: id, ClaimToken: &token})
	return n == 1, s.err(err)
}

func (s *Outbox) Retry(ctx context.Context, id, token string, next time.Time, lastErr string) (bool, error) {
	n, err := s.w().RetryMail(ctx, sqlitedb.RetryMailParams{NextAttemptAt: ts(next), LastError: &lastErr, ID: id, ClaimToken: &token})
	return n == 1, s.err(err)
}

func (s *Outbox) Fail(ctx context.Context, id, token, maskedTo string, at time.Time, lastErr string) (bool, error) {
	n, err := s.w().FailMail(ctx, sqlitedb.FailMailParams{FailedAt: tsp(&at), LastError: &lastErr, MaskedRecipient: maskedTo, ID: id, ClaimToken: &token})
	return n == 1, s.err(err)
}

func (s *Outbox) Purge(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.w().PurgeMail(ctx, ts(before))
	if err != nil {
		return 0, s.err(err)
	}
	_, err = s.w().PurgeMailRecipients(ctx, ts(before))
	return n, s.err(err)
}

func (s *Outbox) Pending(ctx context.Context) (int64, error) {
	n, err := s.r().CountPendingMail(ctx)
	return n, s.err(err)
}

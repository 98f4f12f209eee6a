package sqlstore

import (
	"context"
	"time"

	"secureapi/gen/sqlitedb"
	"secureapi/internal/audit"
)

// Audit implements audit.Store.
type Audit struct{ base }

var _ audit.Store = (*Audit)(nil)

func NewAudit(e Engine) *Audit { return &Audit{base{e: e}} }

func (s *Audit) err(err error) error { return s.mapErr(err, audit.ErrNotFound, nil) }

// farFuture bounds open-ended time filters; it compares correctly as text on SQLite.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// Append advances the single-row chain head first: on PostgreSQL that UPDATE
// takes a row lock held until commit, on SQLite the one writer connection is
// already exclusive, so two appenders can never read the same previous hash.
func (s *Audit) Append(ctx context.Context, build func(seq int64, prevHash string) (audit.Event, error)) (audit.Event, error) {
	var ev audit.Event
	err := s.inTx(ctx, func(b base) error {
		head, err := b.tx.AdvanceAuditChain(ctx)
		if err != nil {
			return err
		}
		ev, err = build(head.LastSeq, head.LastHash)
		if err != nil {
			return err
		}
		if err := b.tx.InsertAuditEvent(ctx, sqlitedb.InsertAuditEventParams{
			Seq: ev.Seq, ID: ev.ID, OccurredAt: ts(ev.OccurredAt), ActorID: ev.ActorID, Action: ev.Action,
			TargetType: ev.TargetType, TargetID: ev.TargetID, Ip: ev.IP, UserAgent: ev.UserAgent,
			Outcome: ev.Outcome, Details: ev.Details, PrevHash: ev.PrevHash, Hash: ev.Hash,
		}); err != nil {
			return err
		}
		return b.tx.SetAuditChainHash(ctx, ev.Hash)
	})
	return ev, s.err(err)
}

func (s *Audit) List(ctx context.Context, f audit.Filter) ([]audit.Event, error) {
	before := f.BeforeSeq
	if before <= 0 {
		before = 1<<63 - 1
	}
	to := f.To
	if to.IsZero() {
		to = farFuture
	}
	rows, err := s.r().ListAuditEvents(ctx, sqlitedb.ListAuditEventsParams{
		BeforeSeq: before, Actor: f.ActorID, Action: f.Action,
		FromTime: ts(f.From), ToTime: ts(to), Lim: clampLimit(f.Limit),
	})
	if err != nil {
		return nil, s.err(err)
	}
	return toEvents(rows), nil
}

func (s *Audit) After(ctx context.Context, seq int64, limit int) ([]audit.Event, error) {
	rows, err := s.r().AuditEventsAfter(ctx, sqlitedb.AuditEventsAfterParams{AfterSeq: seq, Lim: clampLimit(limit)})
	if err != nil {
		return nil, s.err(err)
	}
	return toEvents(rows), nil
}

func toEvents(rows []sqlitedb.AuditEvent) []audit.Event {
	out := make([]audit.Event, len(rows))
	for i, r := range rows {
		out[i] = audit.Event{
			Seq: r.Seq, ID: r.ID, OccurredAt: utc(r.OccurredAt), ActorID: r.ActorID, Action: r.Action,
			TargetType: r.TargetType, TargetID: r.TargetID, IP: r.Ip, UserAgent: r.UserAgent,
			Outcome: r.Outcome, Details: r.Details, PrevHash: r.PrevHash, Hash: r.Hash,
		}
	}
	return out
}

func (s *Audit) Head(ctx context.Context) (int64, string, error) {
	h, err := s.r().GetAuditChain(ctx)
	return h.LastSeq, h.LastHash, s.err(err)
}

package api

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/google/uuid"

	gen "secureapi/gen/api"
	"secureapi/internal/audit"
	"secureapi/internal/platform/apperr"
	"secureapi/internal/user"
)

const (
	defaultAuditPage = 20
	maxAuditPage     = 100
)

var errAuditCursor = apperr.Field("query", "cursor", "Invalid cursor.")

func (s *Server) ListAuditEvents(ctx context.Context, req gen.ListAuditEventsRequestObject) (gen.ListAuditEventsResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !p.IsAdmin() {
		return nil, user.ErrAdminRequired
	}
	f, err := toAuditFilter(req.Params)
	if err != nil {
		return nil, err
	}
	evs, next, err := s.Audit.List(ctx, f)
	if err != nil {
		return nil, err
	}
	out := gen.AuditEventList{Items: make([]gen.AuditEvent, len(evs))}
	for i, ev := range evs {
		out.Items[i] = s.toAPIAuditEvent(ctx, ev)
	}
	if next > 0 {
		c := strconv.FormatInt(next, 10)
		out.NextCursor = &c
	}
	return gen.ListAuditEvents200JSONResponse{Body: out}, nil
}

// toAuditFilter reads the query. The cursor is the seq of the last event of
// the previous page, as a decimal string.
func toAuditFilter(q gen.ListAuditEventsParams) (audit.Filter, error) {
	f := audit.Filter{Limit: defaultAuditPage}
	if q.Limit != nil {
		f.Limit = min(max(int(*q.Limit), 1), maxAuditPage)
	}
	if q.Cursor != nil {
		seq, err := strconv.ParseInt(*q.Cursor, 10, 64)
		if err != nil || seq < 1 || strconv.FormatInt(seq, 10) != *q.Cursor {
			return audit.Filter{}, errAuditCursor
		}
		f.BeforeSeq = seq
	}
	if q.Actor != nil {
		f.ActorID = q.Actor.String()
	}
	if q.Action != nil {
		f.Action = *q.Action
	}
	if q.From != nil {
		f.From = q.From.UTC()
	}
	if q.To != nil {
		f.To = q.To.UTC()
	}
	return f, nil
}

func (s *Server) toAPIAuditEvent(ctx context.Context, ev audit.Event) gen.AuditEvent {
	id, _ := uuid.Parse(ev.ID)
	out := gen.AuditEvent{
		Seq: ev.Seq, Id: id, OccurredAt: ev.OccurredAt.UTC(), Action: ev.Action,
		TargetType: ev.TargetType, TargetId: ev.TargetID, Ip: ev.IP, UserAgent: ev.UserAgent,
		Outcome: gen.AuditEventOutcome(ev.Outcome), Hash: ev.Hash, Details: map[string]any{},
	}
	if ev.ActorID != nil {
		if a, err := uuid.Parse(*ev.ActorID); err == nil {
			out.ActorId = &a
		}
	}
	// Details were written as a JSON object; a row that no longer decodes
	// (tampering, which `api audit verify` reports) is shown without them.
	if err := json.Unmarshal([]byte(ev.Details), &out.Details); err != nil || out.Details == nil {
		s.Log.WarnContext(ctx, "audit event details do not decode", "seq", ev.Seq)
		out.Details = map[string]any{}
	}
	return out
}

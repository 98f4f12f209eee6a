package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"secureapi/internal/platform/reqinfo"
)

// Outcomes.
const (
	Success = "success"
	Failure = "failure"
)

// Entry is what a caller records; the service adds id, time, source and hashes.
type Entry struct {
	ActorID    string
	Action     string
	TargetType string
	TargetID   string
	Outcome    string
	Details    map[string]any
}

// Service appends to and reads the audit log.
type Service struct {
	store   Store
	now     func() time.Time
	log     *slog.Logger
	observe func(action, outcome string)
}

// Observe registers f to be told of every recorded event (metrics).
func (s *Service) Observe(f func(action, outcome string)) { s.observe = f }

// NewService returns a Service; now may be nil (time.Now).
func NewService(store Store, log *slog.Logger, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: now, log: log}
}

// secretish keys are dropped from details as a last line of defence: an
// audit log must never hold a password, token or hash.
var secretish = []string{"password", "token", "secret", "hash", "cookie", "authorization"}

func cleanDetails(d map[string]any) map[string]any {
	out := make(map[string]any, len(d))
	for k, v := range d {
		lk := strings.ToLower(k)
		drop := false
		for _, s := range secretish {
			if strings.Contains(lk, s) {
				drop = true
				break
			}
		}
		if !drop {
			out[k] = v
		}
	}
	return out
}

func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Record appends an event with the request's IP and user agent in a
// transaction of its own. A failure is logged here and returned, so callers
// may decide whether it is fatal.
func (s *Service) Record(ctx context.Context, e Entry) error {
	return s.RecordIn(ctx, s.store, e)
}

// RecordIn appends an event through st, a Store bound to the caller's
// transaction, so the event commits or rolls back with the change it
// describes. The chain head stays locked until that transaction ends: append
// last, after every other lock the transaction takes, so transactions always
// lock in one order.
func (s *Service) RecordIn(ctx context.Context, st Store, e Entry) error {
	details, err := json.Marshal(cleanDetails(e.Details)) // map keys marshal sorted: canonical
	if err != nil {
		return fmt.Errorf("audit details: %w", err)
	}
	if e.Outcome == "" {
		e.Outcome = Success
	}
	info := reqinfo.From(ctx)
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	at := s.now().UTC().Truncate(time.Microsecond)
	_, err = st.Append(ctx, func(seq int64, prev string) (Event, error) {
		ev := Event{
			Seq: seq, ID: id.String(), OccurredAt: at, ActorID: strp(e.ActorID), Action: e.Action,
			TargetType: strp(e.TargetType), TargetID: strp(e.TargetID), IP: strp(info.IP),
			UserAgent: strp(info.UserAgent), Outcome: e.Outcome, Details: string(details), PrevHash: prev,
		}
		ev.Hash = Hash(prev, ev)
		return ev, nil
	})
	if err != nil {
		s.log.ErrorContext(ctx, "audit append failed", "action", e.Action, "err", err)
		return err
	}
	if s.observe != nil {
		// Counted when appended: an event appended in a transaction that
		// then rolls back is still counted, a rare overcount of a metric.
		s.observe(e.Action, e.Outcome)
	}
	return nil
}

// canonical is the hashed form of an event: fixed field order, UTC times.
type canonical struct {
	Seq        int64           `json:"seq"`
	ID         string          `json:"id"`
	OccurredAt string          `json:"occurred_at"`
	ActorID    *string         `json:"actor_id"`
	Action     string          `json:"action"`
	TargetType *string         `json:"target_type"`
	TargetID   *string         `json:"target_id"`
	IP         *string         `json:"ip"`
	UserAgent  *string         `json:"user_agent"`
	Outcome    string          `json:"outcome"`
	Details    json.RawMessage `json:"details"`
}

// Hash is SHA-256(prevHash || canonical JSON of ev), hex encoded.
func Hash(prevHash string, ev Event) string {
	details := json.RawMessage(ev.Details)
	if !json.Valid(details) {
		details, _ = json.Marshal(ev.Details) // a tampered, non-JSON value still hashes deterministically
	}
	b, _ := json.Marshal(canonical{
		Seq: ev.Seq, ID: ev.ID, OccurredAt: ev.OccurredAt.UTC().Format(time.RFC3339Nano), ActorID: ev.ActorID,
		Action: ev.Action, TargetType: ev.TargetType, TargetID: ev.TargetID, IP: ev.IP, UserAgent: ev.UserAgent,
		Outcome: ev.Outcome, Details: details,
	})
	h := sha256.New()
	h.Write([]byte(prevHash))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// List returns a page of events (newest first) and the cursor of the next page (0 when none).
func (s *Service) List(ctx context.Context, f Filter) ([]Event, int64, error) {
	limit := f.Limit
	f.Limit = limit + 1
	evs, err := s.store.List(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	if len(evs) > limit {
		evs = evs[:limit]
		return evs, evs[limit-1].Seq, nil
	}
	return evs, 0, nil
}

// Broken describes the first event at which the chain does not hold.
type Broken struct {
	Seq    int64
	ID     string
	Reason string
}

// Verify walks the whole chain in order and returns the number of events
// checked and the first broken link (nil when the chain is intact).
func (s *Service) Verify(ctx context.Context) (int64, *Broken, error) {
	var (
		prev    string
		lastSeq int64
		checked int64
	)
	for {
		batch, err := s.store.After(ctx, lastSeq, 500)
		if err != nil {
			return checked, nil, err
		}
		for _, ev := range batch {
			switch {
			case ev.Seq != lastSeq+1:
				return checked, &Broken{Seq: ev.Seq, ID: ev.ID, Reason: fmt.Sprintf("sequence gap: expected %d", lastSeq+1)}, nil
			case ev.PrevHash != prev:
				return checked, &Broken{Seq: ev.Seq, ID: ev.ID, Reason: "previous hash does not match the preceding event"}, nil
			case Hash(prev, ev) != ev.Hash:
				return checked, &Broken{Seq: ev.Seq, ID: ev.ID, Reason: "event content does not match its hash"}, nil
			}
			prev, lastSeq = ev.Hash, ev.Seq
			checked++
		}
		if len(batch) < 500 {
			break
		}
	}
	headSeq, headHash, err := s.store.Head(ctx)
	if err != nil {
		return checked, nil, err
	}
	if headSeq != lastSeq || headHash != prev {
		return checked, &Broken{Seq: lastSeq + 1, Reason: fmt.Sprintf("chain head records %d events but %d were found", headSeq, lastSeq)}, nil
	}
	return checked, nil, nil
}

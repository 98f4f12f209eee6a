// Package audit keeps the append-only, hash-chained log of security events.
package audit

import (
	"context"
	"time"

	"secureapi/internal/platform/apperr"
)

// Event is one entry of the log. Details is canonical JSON (sorted keys).
type Event struct {
	Seq        int64
	ID         string
	OccurredAt time.Time
	ActorID    *string
	Action     string
	TargetType *string
	TargetID   *string
	IP         *string
	UserAgent  *string
	Outcome    string
	Details    string
	PrevHash   string
	Hash       string
}

// Filter selects a page of events, newest first. Zero values do not filter.
type Filter struct {
	ActorID string
	Action  string
	From    time.Time
	To      time.Time
	// BeforeSeq starts the page below this sequence number; 0 starts at the newest.
	BeforeSeq int64
	Limit     int
}

var ErrNotFound = apperr.New(apperr.NotFound, "No such audit event.")

// Store persists events.
type Store interface {
	// Append takes the next sequence number and the previous event's hash under
	// a lock that serializes appenders, lets build fill in the event (and its
	// hash), and stores it, all in one transaction.
	Append(ctx context.Context, build func(seq int64, prevHash string) (Event, error)) (Event, error)
	List(ctx context.Context, f Filter) ([]Event, error)
	// After returns up to limit events with Seq > seq in chain order.
	After(ctx context.Context, seq int64, limit int) ([]Event, error)
	// Head returns the sequence number and hash of the last appended event (0, "" when empty).
	Head(ctx context.Context) (int64, string, error)
}

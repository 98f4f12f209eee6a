// Package sqlstore implements every domain store once, over the query set that
// sqlc generates for both engines.
//
// sqlc emits structurally identical packages for SQLite (gen/sqlitedb) and
// PostgreSQL (gen/pgdb). The stores here are written against sqlitedb.Querier;
// the postgres package adapts pgdb to that interface with plain type
// conversions. So the business-facing code exists once and both engines run the
// same contract tests, instead of two hand-kept copies drifting apart.
package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"secureapi/gen/sqlitedb"
	"secureapi/internal/platform/apperr"
)

// Querier is the query set both engines provide.
type Querier = sqlitedb.Querier

// Engine is what a database driver package provides to the stores.
type Engine interface {
	// Name is "sqlite" or "postgres".
	Name() string
	// Reader runs queries that do not write (on SQLite: the reader pool).
	Reader() Querier
	// Writer runs single writing statements outside a transaction.
	Writer() Querier
	// InTx runs fn in a transaction: commit when fn returns nil, roll back otherwise.
	InTx(ctx context.Context, fn func(Querier) error) error
	// MapError turns the engine's errors into ErrNoRows, *UniqueViolation,
	// ErrForeignKey, ErrInvalidInput or ErrInvalidText, wrapped with %w; other
	// errors pass through.
	MapError(err error) error
}

var (
	// ErrNoRows means a query that returns one row found none.
	ErrNoRows = errors.New("no rows")
	// ErrForeignKey means a referenced row does not exist.
	ErrForeignKey = errors.New("foreign key violation")
	// ErrInvalidInput means the engine refused a value's form (e.g. a malformed UUID on PostgreSQL).
	ErrInvalidInput = errors.New("invalid input value")
	// ErrInvalidText means the engine cannot store a piece of text (PostgreSQL
	// refuses NUL and invalid UTF-8). The API refuses such text before it gets
	// here; this keeps a missed path a client error, never a 500.
	ErrInvalidText = errors.New("text the database cannot store")
)

// errGone is what a client sees for ErrForeignKey: every row the API
// inserts refers to the caller's own account or session, so a missing one
// was deleted after the caller's credentials were checked.
var errGone = apperr.New(apperr.Unauthorized, "The account or session of this request no longer exists.")

// errInvalidText is what a client sees for ErrInvalidText.
var errInvalidText = apperr.New(apperr.Invalid, "The request contains text that cannot be stored (control characters or invalid UTF-8).")

// UniqueViolation names the column whose unique constraint was violated.
type UniqueViolation struct{ Column string }

func (u *UniqueViolation) Error() string { return fmt.Sprintf("unique violation on %s", u.Column) }

// ts normalizes times written to either engine: UTC (SQLite compares text)
// and microseconds (PostgreSQL's precision), so a value reads back equal.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func tsp(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := ts(*t)
	return &v
}

func utc(t time.Time) time.Time { return t.UTC() }

func utcp(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

// base holds the engine and, inside a transaction, the transaction's querier.
type base struct {
	e  Engine
	tx Querier
}

func (b base) r() Querier {
	if b.tx != nil {
		return b.tx
	}
	return b.e.Reader()
}

func (b base) w() Querier {
	if b.tx != nil {
		return b.tx
	}
	return b.e.Writer()
}

// inTx runs fn with a transaction-bound base; nested calls reuse the open transaction.
func (b base) inTx(ctx context.Context, fn func(base) error) error {
	if b.tx != nil {
		return fn(b)
	}
	return b.e.InTx(ctx, func(q Querier) error { return fn(base{e: b.e, tx: q}) })
}

// mapErr maps engine errors to the domain: no rows -> notFound, unique
// violations through unique (column -> sentinel), bad input -> notFound too
// (a malformed id names nothing that exists).
func (b base) mapErr(err error, notFound error, unique map[string]error) error {
	if err == nil {
		return nil
	}
	err = b.e.MapError(err)
	if errors.Is(err, ErrInvalidText) {
		return fmt.Errorf("%w: %w", errInvalidText, err)
	}
	if errors.Is(err, ErrForeignKey) {
		return fmt.Errorf("%w: %w", errGone, err)
	}
	if errors.Is(err, ErrNoRows) || errors.Is(err, ErrInvalidInput) {
		return fmt.Errorf("%w", notFound)
	}
	var uv *UniqueViolation
	if errors.As(err, &uv) {
		if s, ok := unique[uv.Column]; ok {
			return fmt.Errorf("%w", s)
		}
	}
	return err
}

// maxID sorts after every UUID, so "before maxID" starts a page at the newest row.
const maxID = "ffffffff-ffff-ffff-ffff-ffffffffffff"

// nilID is the all-zero UUID, used where "no id" must still be a valid UUID.
const nilID = "00000000-0000-0000-0000-000000000000"

func beforeID(before string) string {
	if before == "" {
		return maxID
	}
	return before
}

func clampLimit(n int) int64 {
	if n <= 0 || n > 1000 {
		return 1000
	}
	return int64(n)
}

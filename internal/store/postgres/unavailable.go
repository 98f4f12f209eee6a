package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"secureapi/gen/pgdb"
	"secureapi/internal/platform/apperr"
)

// errUnavailable marks errors that mean the database cannot be reached right
// now (down, restarting, refusing connections, or the connection dropped),
// so that clients get a 503 with Retry-After instead of a 500: the request
// was fine and can be sent again.
var errUnavailable = apperr.Retry(apperr.Unavailable, "The service is temporarily unavailable. Retry shortly.", 2*time.Second)

// markUnavailable wraps err with errUnavailable when it is about reaching
// the database rather than about the statement; other errors are returned
// unchanged. The cause stays in the chain for logs and errors.As.
func markUnavailable(err error) error {
	if err == nil || !unreachable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", errUnavailable, err)
}

func unreachable(err error) bool {
	if _, ok := apperr.As(err); ok {
		return false
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exception; 57P01..03: the server is shutting
		// down, crashed or not yet accepting connections; 53300: too many
		// connections.
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" ||
			pe.Code == "57P03" || pe.Code == "53300"
	}
	var ne net.Error
	return errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne)
}

// dbtx is the pool as sqlc's DBTX, with every error passed through
// markUnavailable.
type dbtx struct{ pgdb.DBTX }

func (d dbtx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	t, err := d.DBTX.Exec(ctx, sql, args...)
	return t, markUnavailable(err)
}

func (d dbtx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	r, err := d.DBTX.Query(ctx, sql, args...)
	if err != nil {
		return r, markUnavailable(err)
	}
	return rows{r}, nil
}

func (d dbtx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return row{d.DBTX.QueryRow(ctx, sql, args...)}
}

type row struct{ pgx.Row }

func (r row) Scan(dest ...any) error { return markUnavailable(r.Row.Scan(dest...)) }

type rows struct{ pgx.Rows }

func (r rows) Err() error { return markUnavailable(r.Rows.Err()) }

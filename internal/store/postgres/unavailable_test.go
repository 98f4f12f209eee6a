package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"secureapi/internal/platform/apperr"
)

func TestMarkUnavailable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"no rows", pgx.ErrNoRows, false},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"bad text", &pgconn.PgError{Code: "22021"}, false},
		{"canceled by the client", context.Canceled, false},
		{"already an app error", apperr.New(apperr.Invalid, "x"), false},
		{"connection refused", refused, true},
		{"connect error", fmt.Errorf("acquire: %w", &pgconn.ConnectError{}), true},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"cannot connect now", &pgconn.PgError{Code: "57P03"}, true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"connection closed", fmt.Errorf("query: %w", pgconn.ErrConnClosed), true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := markUnavailable(c.err)
			ae, ok := apperr.As(err)
			got := ok && ae.Kind == apperr.Unavailable
			if got != c.want {
				t.Fatalf("markUnavailable(%v) = %v, unavailable %v; want %v", c.err, err, got, c.want)
			}
			if c.err != nil && !errors.Is(err, c.err) {
				t.Fatalf("the cause %v is no longer in the chain of %v", c.err, err)
			}
		})
	}
}

package httpx

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
)

// BodyLimit refuses request bodies larger than n bytes with
// 413 "request body too large". A declared Content-Length above n is refused
// before the handler runs; bodies of unknown length are wrapped with
// http.MaxBytesReader so that reading past n fails. When the handler returns
// that read error (directly, wrapped, or as the Internal of an
// *echo.HTTPError such as the one echo's binder produces), it is turned into
// the 413 so clients get the same answer either way.
// skip exempts routes with their own limit (uploads); it may be nil.
// n must be positive.
func BodyLimit(n int64, skip func(echo.Context) bool) echo.MiddlewareFunc {
	if n <= 0 {
		panic(fmt.Sprintf("httpx: BodyLimit needs a positive limit, got %d", n))
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if skip != nil && skip(c) {
				return next(c)
			}
			req := c.Request()
			if req.ContentLength > n {
				return errBodyTooLarge(nil)
			}
			if req.Body != nil && req.Body != http.NoBody {
				// The underlying ResponseWriter (not echo's wrapper) lets
				// net/http close the connection once the limit is hit instead
				// of draining an unbounded body.
				req.Body = http.MaxBytesReader(c.Response().Writer, req.Body, n)
			}
			err := next(c)
			var mbe *http.MaxBytesError
			if err != nil && errors.As(err, &mbe) {
				var he *echo.HTTPError
				if errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge {
					return err
				}
				// Internal is the bare read error, not whatever wrapped it: an
				// error handler that unwraps an *echo.HTTPError Internal (echo's
				// default does) must not resurrect a binder's 400.
				return errBodyTooLarge(mbe)
			}
			return err
		}
	}
}

// IsBodyTooLarge reports whether err is, or wraps, the error produced when a
// request body exceeds its limit: an *http.MaxBytesError from reading the
// body, or the 413 *echo.HTTPError returned by BodyLimit.
func IsBodyTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return true
	}
	var he *echo.HTTPError
	return errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge
}

func errBodyTooLarge(internal error) *echo.HTTPError {
	he := echo.NewHTTPError(http.StatusRequestEntityTooLarge, "request body too large")
	he.Internal = internal
	return he
}

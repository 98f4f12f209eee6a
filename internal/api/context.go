package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"secureapi/internal/auth"
)

type requestKey struct{}

// httpRequest returns the request a handler runs for. Strict handlers get only
// a context; downloads need the request for Range and conditional headers.
func httpRequest(ctx context.Context) *http.Request {
	r, _ := ctx.Value(requestKey{}).(*http.Request)
	return r
}

// requestContext stores the request itself in its context, for the strict
// handlers that need more than a context (downloads read Range and the
// conditional headers). The request facts services read (client IP, user
// agent, request id) were stored by httpx.RequestID.
func requestContext() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			c.SetRequest(r.WithContext(context.WithValue(r.Context(), requestKey{}, r)))
			return next(c)
		}
	}
}

// syncView brings the session view up to date, after a request that may
// have written and before its answer goes out, so a revocation it made (a
// logout, a password change, an account deactivated) holds for the very
// next request on this instance. Other instances learn of it from the
// change feed within a second.
func syncView(v *auth.View) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if v == nil {
			return next
		}
		return func(c echo.Context) error {
			switch c.Request().Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions:
				return next(c)
			}
			ctx := context.WithoutCancel(c.Request().Context())
			c.Response().Before(func() {
				if c.Response().Status == http.StatusTooManyRequests {
					return // refused before any work: a flood of these costs no reads
				}
				sctx, cancel := context.WithTimeout(ctx, viewSyncTimeout)
				defer cancel()
				// A failure leaves the view unusable until a read succeeds.
				_ = v.Sync(sctx)
			})
			return next(c)
		}
	}
}

// viewSyncTimeout bounds the wait for the change feed before an answer.
const viewSyncTimeout = 2 * time.Second

package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"secureapi/internal/platform/httpx"
	"secureapi/internal/platform/reqinfo"
)

type requestKey struct{}

// httpRequest returns the request a handler runs for. Strict handlers get only
// a context; downloads need the request for Range and conditional headers.
func httpRequest(ctx context.Context) *http.Request {
	r, _ := ctx.Value(requestKey{}).(*http.Request)
	return r
}

// requestContext stores the request facts (client IP from the trusted-proxy
// aware extractor, user agent, request id) in the request's context, where
// services, audit events and sessions read them.
func requestContext() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			ua := r.UserAgent()
			if len(ua) > 512 {
				ua = ua[:512]
			}
			ctx := reqinfo.With(r.Context(), reqinfo.Info{IP: c.RealIP(), UserAgent: ua, RequestID: httpx.RequestIDFrom(r.Context())})
			r = r.WithContext(ctx)
			r = r.WithContext(context.WithValue(r.Context(), requestKey{}, r))
			c.SetRequest(r)
			return next(c)
		}
	}
}

package httpx

import (
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"

	"secureapi/internal/platform/reqinfo"
)

// maxLoggedPathLen bounds the path written to the log so that a client cannot
// inflate log volume with huge URLs.
const maxLoggedPathLen = 512

// AccessLog writes one structured line per request once it has finished:
// method, route (the matched route template, or "unmatched"), path without the
// query string, status, bytes_out, duration_ms, ip (ClientIP, i.e. the
// installed IPExtractor) and request_id. Query strings, bodies, headers,
// cookies and tokens are never logged because they routinely carry secrets.
// Responses below 500 are logged at info level, the rest at error level.
//
// An error returned by the inner chain is handed to c.Error here, so that the
// logged status is the one the client received; the middleware then returns
// nil because the error has been fully handled.
func AccessLog(logger *slog.Logger) echo.MiddlewareFunc {
	if logger == nil {
		logger = slog.Default()
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err)
			}
			elapsed := time.Since(start)

			req := c.Request()
			res := c.Response()
			status := res.Status
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			path := req.URL.Path
			if len(path) > maxLoggedPathLen {
				path = path[:maxLoggedPathLen] + "..."
			}
			logger.LogAttrs(req.Context(), level, "http request",
				slog.String("method", req.Method),
				slog.String("route", routeOf(c)),
				slog.String("path", path),
				slog.Int("status", status),
				slog.Int64("bytes_out", res.Size),
				slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
				slog.String("ip", ClientIP(c)),
				slog.String("request_id", RequestIDFrom(req.Context())),
			)
			return nil
		}
	}
}

// ClientIP is the request's client address from the installed IPExtractor
// (c.RealIP()), formatted once: the request facts carry it once they are
// set, and every later reader (rate limits, the access log) takes it there.
func ClientIP(c echo.Context) string {
	if ip := reqinfo.From(c.Request().Context()).IP; ip != "" {
		return ip
	}
	return c.RealIP()
}

// routeOf returns the route template so that log lines group by endpoint and
// never carry path parameters that were not meant to be logged verbatim.
func routeOf(c echo.Context) string {
	if p := c.Path(); p != "" {
		return p
	}
	return "unmatched"
}

// Package httpx holds the Echo v4 middleware and server plumbing shared by
// every HTTP entry point of the API.
//
// Errors produced here are always *echo.HTTPError values with a short,
// client-safe Message; turning them into response bodies is left to the
// application's single HTTPErrorHandler so that every error, whichever layer
// raised it, has the same shape. Middleware in this package never writes an
// error body itself.
//
// Echo's own client-IP helpers trust forwarding headers that any client can
// forge, so the application is expected to install IPExtractor as
// e.IPExtractor and to never rely on echo's RealIP fallback or its Proxy
// middleware.
//
// A typical chain, outermost first:
//
//	e.IPExtractor = httpx.IPExtractor(trusted)
//	e.Use(
//		httpx.RequestID(),
//		httpx.AccessLog(logger),
//		httpx.Recover(logger),
//		httpx.SecurityHeaders(httpx.SecurityHeadersConfig{...}),
//		httpx.HostCheck(hosts, skipHealth),
//		httpx.CORS(origins),
//		httpx.BodyLimit(1<<20, skipUpload),
//	)
//
// RequestID comes first so that every log line can carry the id; AccessLog
// wraps Recover so that a recovered panic is still logged with its 500;
// SecurityHeaders runs before the checks that may reject a request so that
// rejections carry the headers as well.
package httpx

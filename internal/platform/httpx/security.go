package httpx

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// DefaultCSP is the Content-Security-Policy for JSON responses: nothing an API
// returns should ever be rendered, framed or allowed to load anything.
const DefaultCSP = "default-src 'none'; frame-ancestors 'none'"

// DefaultHSTSMaxAge is used when SecurityHeadersConfig.HSTSMaxAge is zero.
const DefaultHSTSMaxAge = 365 * 24 * time.Hour

// SecurityHeadersConfig configures SecurityHeaders.
type SecurityHeadersConfig struct {
	// Trusted proxies, consulted through IsHTTPS so that HSTS is only sent
	// when the client really connected over HTTPS.
	Trusted []netip.Prefix
	// HSTSMaxAge defaults to DefaultHSTSMaxAge when zero; a negative value
	// disables Strict-Transport-Security.
	HSTSMaxAge time.Duration
	// PathCSP maps an exact request path to a CSP that replaces DefaultCSP,
	// for the few pages (API docs) that must run their own scripts and styles.
	PathCSP map[string]string
	// NoStorePrefixes lists path prefixes whose responses get
	// Cache-Control: no-store. It is set before the handler runs so that error
	// responses carry it too; a handler may still override it.
	NoStorePrefixes []string
}

// SecurityHeaders sets the hardening headers before calling next, so that
// 404, 405 and 500 responses produced by the error handler carry them as well:
// X-Content-Type-Options, X-Frame-Options, Content-Security-Policy,
// Referrer-Policy, Cross-Origin-Opener-Policy, Cross-Origin-Resource-Policy,
// X-XSS-Protection: 0 (the legacy auditor does more harm than good),
// Permissions-Policy, Strict-Transport-Security over HTTPS only, and
// Cache-Control: no-store on the configured prefixes. Any Server header is
// removed, including one a handler sets later, so the stack is not advertised.
func SecurityHeaders(cfg SecurityHeadersConfig) echo.MiddlewareFunc {
	hsts := ""
	switch {
	case cfg.HSTSMaxAge == 0:
		hsts = "max-age=" + strconv.FormatInt(int64(DefaultHSTSMaxAge/time.Second), 10) + "; includeSubDomains"
	case cfg.HSTSMaxAge > 0:
		hsts = "max-age=" + strconv.FormatInt(int64(cfg.HSTSMaxAge/time.Second), 10) + "; includeSubDomains"
	}
	trusted := normalizePrefixes(cfg.Trusted)
	pathCSP := make(map[string]string, len(cfg.PathCSP))
	for k, v := range cfg.PathCSP {
		pathCSP[k] = v
	}
	noStore := append([]string(nil), cfg.NoStorePrefixes...)

	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			res := c.Response()
			h := res.Header()

			csp := DefaultCSP
			if v, ok := pathCSP[req.URL.Path]; ok {
				csp = v
			}
			// One array holds every value (a Set per header allocated a slice
			// each); each header gets a one-element slice of it, capped so an
			// Add later copies instead of writing into the next header.
			vals := make([]string, 0, len(hardeningHeaders)+3)
			keys := make([]string, 0, len(hardeningHeaders)+3)
			for _, kv := range hardeningHeaders {
				keys, vals = append(keys, kv[0]), append(vals, kv[1])
			}
			keys, vals = append(keys, headerCSP), append(vals, csp)
			if hsts != "" && isHTTPS(req, trusted) {
				keys, vals = append(keys, headerHSTS), append(vals, hsts)
			}
			for _, p := range noStore {
				if strings.HasPrefix(req.URL.Path, p) {
					keys, vals = append(keys, headerCacheControl), append(vals, "no-store")
					break
				}
			}
			for i, k := range keys {
				h[k] = vals[i : i+1 : i+1]
			}
			h.Del(echo.HeaderServer)
			res.Before(func() { res.Header().Del(echo.HeaderServer) })
			return next(c)
		}
	}
}

// The headers SecurityHeaders sets, in canonical form (they are assigned to
// the header map directly).
var (
	hardeningHeaders = [...][2]string{
		{http.CanonicalHeaderKey(echo.HeaderXContentTypeOptions), "nosniff"},
		{http.CanonicalHeaderKey(echo.HeaderXFrameOptions), "DENY"},
		{http.CanonicalHeaderKey(echo.HeaderReferrerPolicy), "no-referrer"},
		{http.CanonicalHeaderKey("Cross-Origin-Opener-Policy"), "same-origin"},
		{http.CanonicalHeaderKey("Cross-Origin-Resource-Policy"), "same-origin"},
		{http.CanonicalHeaderKey(echo.HeaderXXSSProtection), "0"},
		{http.CanonicalHeaderKey("Permissions-Policy"), "camera=(), microphone=(), geolocation=()"},
	}
	headerCSP          = http.CanonicalHeaderKey(echo.HeaderContentSecurityPolicy)
	headerHSTS         = http.CanonicalHeaderKey(echo.HeaderStrictTransportSecurity)
	headerCacheControl = http.CanonicalHeaderKey(echo.HeaderCacheControl)
)

// HostCheck rejects requests whose Host is not in allowed with
// 400 "host not allowed", which stops DNS-rebinding and Host-header poisoning
// of absolute URLs. Comparison is case-insensitive; the request's port is
// ignored unless the allowed entry names one. An empty list allows every host.
// skip exempts requests such as load-balancer probes that address the
// instance by IP; it may be nil.
func HostCheck(allowed []string, skip func(echo.Context) bool) echo.MiddlewareFunc {
	ok := hostMatcher(allowed, false)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if len(allowed) == 0 {
			return next
		}
		return func(c echo.Context) error {
			if skip != nil && skip(c) {
				return next(c)
			}
			if ok(c.Request().Host) {
				return next(c)
			}
			return echo.NewHTTPError(http.StatusBadRequest, "host not allowed")
		}
	}
}

// hostMatcher reports whether a Host header names one of allowed (case-
// insensitive; an entry with a port also needs that port unless anyPort).
func hostMatcher(allowed []string, anyPort bool) func(hostHeader string) bool {
	type entry struct{ host, port string }
	entries := make([]entry, 0, len(allowed))
	for _, a := range allowed {
		host, port := splitHostPort(strings.ToLower(strings.TrimSpace(a)))
		if host == "" {
			continue
		}
		entries = append(entries, entry{host, port})
	}
	return func(hostHeader string) bool {
		host, port := splitHostPort(strings.ToLower(hostHeader))
		for _, e := range entries {
			if e.host == host && (anyPort || e.port == "" || e.port == port) {
				return true
			}
		}
		return false
	}
}

// splitHostPort splits "host", "host:port", "[v6]", "[v6]:port" and a bare
// IPv6 address into host (without brackets) and port.
func splitHostPort(s string) (host, port string) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return s, ""
		}
		host = s[1:end]
		rest := s[end+1:]
		if strings.HasPrefix(rest, ":") {
			port = rest[1:]
		} else if rest != "" {
			// Trailing garbage: keep it in host so it cannot match anything.
			return s, ""
		}
		return host, port
	}
	if strings.Count(s, ":") == 1 {
		i := strings.IndexByte(s, ':')
		return s[:i], s[i+1:]
	}
	return s, ""
}

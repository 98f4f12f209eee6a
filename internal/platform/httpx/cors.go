package httpx

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// CORS returns echo's CORS middleware restricted to an explicit allowlist of
// origins, with credentials.
//
// Origins are compared exactly: echo's own AllowOrigins matching also accepts
// subdomains and "*"/"?" wildcards inside entries, which is too loose for a
// credentialed API, so matching is done through AllowOriginFunc instead. An
// empty list allows no cross-origin request (echo would otherwise default to
// "*"). A "*" entry allows any origin but without credentials, since
// reflecting arbitrary origins together with credentials would let any site
// act as the user.
func CORS(allowedOrigins []string) echo.MiddlewareFunc {
	cfg := middleware.CORSConfig{
		AllowMethods: []string{
			http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodOptions,
		},
		AllowHeaders: []string{echo.HeaderAuthorization, echo.HeaderContentType, HeaderRequestID},
		ExposeHeaders: []string{
			HeaderRequestID, echo.HeaderRetryAfter, "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
		},
		MaxAge: 600,
	}
	if slices.Contains(allowedOrigins, "*") {
		cfg.AllowOrigins = []string{"*"}
		cfg.AllowCredentials = false
	} else {
		allowed := make(map[string]struct{}, len(allowedOrigins))
		for _, o := range allowedOrigins {
			allowed[o] = struct{}{}
		}
		cfg.AllowCredentials = true
		cfg.AllowOriginFunc = func(origin string) (bool, error) {
			_, ok := allowed[origin]
			return ok, nil
		}
	}
	return middleware.CORSWithConfig(cfg)
}

// OriginAllowed reports whether the request's Origin header is absent or
// exactly one of allowedOrigins. Cookie-authenticated endpoints use it to
// refuse cross-site requests. A "*" entry is not a wildcard here: it only
// relaxes CORS for credential-less reads and must not open cookie-backed
// endpoints to every site. A request with more than one Origin header is
// refused because it cannot have come from a browser.
func OriginAllowed(r *http.Request, allowedOrigins []string) bool {
	values := r.Header.Values(echo.HeaderOrigin)
	switch len(values) {
	case 0:
		return true
	case 1:
		return values[0] != "*" && slices.Contains(allowedOrigins, values[0])
	default:
		return false
	}
}

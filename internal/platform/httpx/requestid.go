package httpx

import (
	"context"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"secureapi/internal/platform/reqinfo"
)

// HeaderRequestID is the header carrying the request id in both directions.
const HeaderRequestID = "X-Request-ID"

var canonicalRequestID = http.CanonicalHeaderKey(HeaderRequestID)

const maxRequestIDLen = 64

// maxUserAgent bounds the user agent kept with the request facts: it is
// copied into sessions and audit events.
const maxUserAgent = 512

// RequestID accepts an incoming X-Request-ID that matches
// ^[A-Za-z0-9._:-]{1,64}$ and otherwise generates a UUIDv7. The id is set on
// the response header, replaces the request header (so nothing downstream can
// pick up the unvalidated value) and is stored in the request context with
// the other request facts (reqinfo): the client IP from Echo's IP extractor,
// which trusts forwarding headers only from TRUSTED_PROXIES, and the user
// agent, cut to 512 bytes. One context value holds all three.
//
// Incoming ids are validated because they end up in logs and in response
// headers: a client must not be able to inject line breaks, control
// characters or arbitrarily long strings there.
func RequestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			in := req.Header[canonicalRequestID]
			id := ""
			if len(in) == 1 && validRequestID(in[0]) {
				id = in[0]
			} else {
				id = newRequestID()
			}
			// The header name is not in canonical form, so Get and Set would
			// allocate its canonical form on every call; one array holds both
			// values, each slice capped so an Add copies.
			vals := [...]string{id, id}
			both := vals[:]
			req.Header[canonicalRequestID] = both[0:1:1]
			c.Response().Header()[canonicalRequestID] = both[1:2:2]
			ua := req.UserAgent()
			if len(ua) > maxUserAgent {
				ua = ua[:maxUserAgent]
			}
			info := reqinfo.Info{IP: c.RealIP(), UserAgent: ua, RequestID: id}
			c.SetRequest(req.WithContext(reqinfo.With(req.Context(), info)))
			return next(c)
		}
	}
}

// RequestIDFrom returns the request id stored by RequestID, or "" when absent.
func RequestIDFrom(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	return reqinfo.From(ctx).RequestID
}

// WithRequestID returns a copy of ctx carrying id, for work that starts
// outside an HTTP request (jobs, tests) but logs through the same helpers.
func WithRequestID(ctx context.Context, id string) context.Context {
	info := reqinfo.From(ctx)
	info.RequestID = id
	return reqinfo.With(ctx, info)
}

func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		case b == '.', b == '_', b == ':', b == '-':
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	if id, err := uuid.NewV7(); err == nil {
		return id.String()
	}
	// NewV7 only fails when the random source does; a v4 id is still unique
	// enough for correlation and keeps the request moving.
	return uuid.NewString()
}

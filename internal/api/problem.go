package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"secureapi/internal/platform/apperr"
	"secureapi/internal/platform/httpx"
	"secureapi/internal/platform/ratelimit"
)

// problem is an RFC 9457 problem document.
type problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail,omitempty"`
	Instance  string       `json:"instance,omitempty"`
	RequestID string       `json:"request_id,omitempty"`
	Errors    []fieldError `json:"errors,omitempty"`
}

type fieldError struct {
	Location string `json:"location"`
	Field    string `json:"field"`
	Message  string `json:"message"`
}

type problemKind struct {
	status int
	slug   string
	title  string
	detail string // used when the error carries none
}

// The most field errors a problem lists (Problem.errors maxItems), and the
// longest field name and message (FieldError maxLength).
const (
	maxFieldErrors  = 50
	maxFieldName    = 200
	maxFieldMessage = 500
)

// clip shortens s to at most n bytes without splitting a UTF-8 sequence,
// marking the cut with an ellipsis.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// kinds is the one table from error kind to status, type and title.
var kinds = map[apperr.Kind]problemKind{
	apperr.Invalid:             {http.StatusBadRequest, "bad-request", "Bad request", "The request is malformed."},
	apperr.Unauthorized:        {http.StatusUnauthorized, "unauthorized", "Unauthorized", "Missing, invalid or expired credentials."},
	apperr.Forbidden:           {http.StatusForbidden, "forbidden", "Forbidden", "You are not allowed to do this."},
	apperr.NotFound:            {http.StatusNotFound, "not-found", "Not found", "No such resource."},
	apperr.Conflict:            {http.StatusConflict, "conflict", "Conflict", "The request conflicts with existing data."},
	apperr.TooLarge:            {http.StatusRequestEntityTooLarge, "payload-too-large", "Payload too large", "The request body is too large."},
	apperr.Unsupported:         {http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type", "The content type is not supported."},
	apperr.RangeNotSatisfiable: {http.StatusRequestedRangeNotSatisfiable, "range-not-satisfiable", "Range not satisfiable", "The requested range lies outside the content."},
	apperr.TooManyRequests:     {http.StatusTooManyRequests, "too-many-requests", "Too many requests", "Too many requests. Retry later."},
	apperr.Unavailable:         {http.StatusServiceUnavailable, "service-unavailable", "Service unavailable", "The service is temporarily unavailable."},
	apperr.Unverified:          {http.StatusForbidden, "email-unverified", "Email not verified", "Verify your email address first."},
}

var (
	validationKind     = problemKind{http.StatusBadRequest, "validation", "Validation failed", ""}
	methodNotAllowed   = problemKind{http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed", "This method is not allowed on this resource."}
	internalErrorKind  = problemKind{http.StatusInternalServerError, "internal", "Internal server error", "An unexpected error occurred."}
	statusToKind       = map[int]apperr.Kind{}
	problemContentType = "application/problem+json"
)

func init() {
	for k, v := range kinds {
		// A bare 403 from middleware is the generic kind, never the specific one.
		if k != apperr.Unverified {
			statusToKind[v.status] = k
		}
	}
}

// errorHandler is Echo's HTTPErrorHandler: every error of every route,
// middleware and the request validator ends here and leaves as problem+json.
// Only client-safe text reaches the body; anything unknown is logged with the
// request id and answered with a bare 500.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			log.ErrorContext(c.Request().Context(), "error after response was sent", "err", err, "request_id", httpx.RequestIDFrom(c.Request().Context()))
			return
		}
		k, p, retry := render(c.Request(), err)
		if k.status >= 500 && k.status != http.StatusServiceUnavailable {
			log.ErrorContext(c.Request().Context(), "request failed", "err", err, "request_id", p.RequestID,
				"method", c.Request().Method, "route", c.Path())
		}
		h := c.Response().Header()
		if retry > 0 {
			h.Set("Retry-After", strconv.Itoa(int((retry+time.Second-1)/time.Second)))
		}
		if k.status == http.StatusUnauthorized {
			h.Set("WWW-Authenticate", `Bearer realm="api"`)
		}
		body := p.encode()
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(k.status)
			return
		}
		if werr := c.Blob(k.status, problemContentType, body); werr != nil {
			log.DebugContext(c.Request().Context(), "write problem", "err", werr)
		}
	}
}

// render builds the complete problem document for err in answer to r.
func render(r *http.Request, err error) (problemKind, problem, time.Duration) {
	k, p, retry := classify(err)
	p.Type, p.Title, p.Status = "/problems/"+k.slug, k.title, k.status
	if p.Detail == "" {
		p.Detail = k.detail
	}
	p.Instance = r.URL.Path
	p.RequestID = httpx.RequestIDFrom(r.Context())
	return k, p, retry
}

// problemDocument is render's JSON, for responses written outside Echo's
// error path (e.g. a range error while a download streams).
func problemDocument(r *http.Request, err error) []byte {
	_, p, _ := render(r, err)
	return p.encode()
}

// encode is the problem's JSON with a final newline, like every JSON body
// the service sends (a shell prompt after `curl` starts on its own line).
func (p problem) encode() []byte {
	b, _ := json.Marshal(p)
	return append(b, '\n')
}

// classify maps an error to its problem kind and client-safe content.
func classify(err error) (problemKind, problem, time.Duration) {
	if ae, ok := apperr.As(err); ok {
		k, known := kinds[ae.Kind]
		if !known {
			return internalErrorKind, problem{}, 0
		}
		p := problem{Detail: ae.Detail}
		if len(ae.Fields) > 0 {
			k = validationKind
			// A body full of unknown fields must not turn into a problem
			// document larger than the request: the first maxFieldErrors are
			// listed (the spec's maxItems), the detail counts them all.
			for _, f := range ae.Fields[:min(len(ae.Fields), maxFieldErrors)] {
				// Names and messages can echo the client's input (an unknown
				// field's name): cut them to the spec's maxLength.
				f.Field, f.Message = clip(f.Field, maxFieldName), clip(f.Message, maxFieldMessage)
				p.Errors = append(p.Errors, fieldError(f))
			}
			if p.Detail == "" {
				p.Detail = fmt.Sprintf("The request has %d invalid field(s).", len(ae.Fields))
			}
		}
		return k, p, ae.RetryAfter
	}
	if ex, ok := ratelimit.AsExceeded(err); ok {
		secs := int((ex.RetryAfter + time.Second - 1) / time.Second)
		return kinds[apperr.TooManyRequests], problem{Detail: fmt.Sprintf("Rate limit exceeded. Retry in %d s.", secs)}, ex.RetryAfter
	}
	if httpx.IsBodyTooLarge(err) {
		return kinds[apperr.TooLarge], problem{}, 0
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		if he.Internal != nil {
			if ae, ok := apperr.As(he.Internal); ok {
				return classify(ae)
			}
		}
		if he.Code == http.StatusMethodNotAllowed {
			return methodNotAllowed, problem{}, 0
		}
		if kind, ok := statusToKind[he.Code]; ok {
			k := kinds[kind]
			p := problem{}
			// A 400 from our middleware carries a fixed, client-safe message
			// (e.g. "host not allowed"); other statuses use the table's text.
			if msg, ok := he.Message.(string); ok && he.Code == http.StatusBadRequest {
				p.Detail = msg
			}
			return k, p, 0
		}
	}
	return internalErrorKind, problem{}, 0
}

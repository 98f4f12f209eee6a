package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"
	oapimw "github.com/oapi-codegen/echo-middleware"

	"secureapi/internal/auth"
	"secureapi/internal/platform/apperr"
	"secureapi/internal/platform/httpx"
)

func init() {
	// kin-openapi leaves format: email and uuid unchecked unless a validator is
	// registered; without it a malformed id would reach the generated binder.
	openapi3.DefineStringFormatValidator("email", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail))
	// Any version: ids here are UUIDv7, which kin-openapi's RFC 4122 pattern (versions 1-5) rejects.
	openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`))
}

var formatNames = map[string]string{"email": "email address", "uuid": "UUID", "date-time": "RFC 3339 date-time"}

var bearerRE = regexp.MustCompile(`^[Bb]earer ([A-Za-z0-9._~+/=-]+)$`)

var errMissingToken = apperr.New(apperr.Unauthorized, "Missing, invalid or expired access token.")

// authenticate checks the bearer token of r and returns r's context with the
// principal. The validator calls it for every operation with bearer security,
// and the upload route (which skips the validator) calls it directly.
func (s *Server) authenticate(r *http.Request) (context.Context, error) {
	m := bearerRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return nil, errMissingToken
	}
	p, err := s.Auth.Authenticate(r.Context(), m[1])
	if err != nil {
		return nil, err
	}
	return auth.WithPrincipal(r.Context(), p), nil
}

// validator is the OpenAPI request validator. Routes outside the spec (docs,
// spec files) and the streaming upload route are skipped: the validator would
// buffer the whole upload body in memory.
func (s *Server) validator(spec *openapi3.T, skip func(echo.Context) bool) echo.MiddlewareFunc {
	return oapimw.OapiRequestValidatorWithOptions(spec, &oapimw.Options{
		Skipper:               skip,
		SilenceServersWarning: true,
		DoNotValidateServers:  true,
		Options: openapi3filter.Options{
			MultiError: true,
			AuthenticationFunc: func(ctx context.Context, in *openapi3filter.AuthenticationInput) error {
				ec := oapimw.GetEchoContext(ctx)
				if ec == nil {
					return errMissingToken
				}
				rctx, err := s.authenticate(ec.Request())
				if err != nil {
					return err
				}
				ec.SetRequest(ec.Request().WithContext(rctx))
				return nil
			},
		},
		// Keep the full error list; it is turned into a problem in ErrorHandler.
		MultiErrorHandler: func(me openapi3.MultiError) *echo.HTTPError {
			return &echo.HTTPError{Code: http.StatusBadRequest, Internal: me}
		},
		ErrorHandler: func(c echo.Context, he *echo.HTTPError) error {
			var me openapi3.MultiError
			if errors.As(he.Internal, &me) {
				return validationError(me)
			}
			return he
		},
	})
}

// validationError turns the validator's findings into one client error:
// failed authentication wins (401, or what the authenticator said), then an
// oversize body (413), a wrong content type (415), then field errors (400).
func validationError(me openapi3.MultiError) error {
	var fields []apperr.FieldError
	for _, err := range me {
		var sre *openapi3filter.SecurityRequirementsError
		if errors.As(err, &sre) {
			for _, e := range sre.Errors {
				if ae, ok := apperr.As(e); ok {
					return ae
				}
			}
			for _, e := range sre.Errors {
				// The security check reads the body first; over the limit is a 413.
				if httpx.IsBodyTooLarge(e) {
					return apperr.New(apperr.TooLarge, "The request body is too large.")
				}
				// The session store failing is the server's problem: a 500, not
				// a 401 that would make clients drop valid credentials.
				var re *openapi3filter.RequestError
				if !errors.As(e, &re) {
					return e
				}
			}
			return errMissingToken
		}
	}
	for _, err := range me {
		if httpx.IsBodyTooLarge(err) {
			return apperr.New(apperr.TooLarge, "The request body is too large.")
		}
		var re *openapi3filter.RequestError
		if !errors.As(err, &re) {
			fields = append(fields, apperr.FieldError{Location: "body", Field: "", Message: "invalid request"})
			continue
		}
		switch {
		case re.Parameter != nil:
			fields = append(fields, paramFieldErrors(re)...)
		case re.RequestBody != nil:
			if strings.HasPrefix(re.Reason, "header Content-Type has unexpected value") {
				return apperr.New(apperr.Unsupported, "The request body must be application/json.")
			}
			if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
				fields = append(fields, apperr.FieldError{Location: "body", Field: "", Message: "a request body is required"})
				continue
			}
			if re.Reason == "failed to decode request body" {
				fields = append(fields, apperr.FieldError{Location: "body", Field: "", Message: "the body is not valid JSON"})
				continue
			}
			fields = append(fields, schemaFieldErrors("body", "", re.Err)...)
		default:
			fields = append(fields, apperr.FieldError{Location: "body", Field: "", Message: "invalid request"})
		}
	}
	return &apperr.Error{Kind: apperr.Invalid, Detail: fmt.Sprintf("The request has %d invalid field(s).", len(fields)), Fields: fields}
}

func paramFieldErrors(re *openapi3filter.RequestError) []apperr.FieldError {
	loc, name := re.Parameter.In, re.Parameter.Name
	if re.Err != nil {
		var se *openapi3.SchemaError
		if errors.As(re.Err, &se) {
			return schemaFieldErrors(loc, name, re.Err)
		}
		if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
			return []apperr.FieldError{{Location: loc, Field: name, Message: "is required"}}
		}
	}
	return []apperr.FieldError{{Location: loc, Field: name, Message: "has an invalid value"}}
}

// schemaFieldErrors lists every schema violation with its field path. kin-openapi's
// reasons never contain the rejected value, so they are safe to show.
func schemaFieldErrors(loc, prefix string, err error) []apperr.FieldError {
	var me openapi3.MultiError
	if errors.As(err, &me) {
		var out []apperr.FieldError
		for _, e := range me {
			out = append(out, schemaFieldErrors(loc, prefix, e)...)
		}
		return out
	}
	var se *openapi3.SchemaError
	if !errors.As(err, &se) {
		return []apperr.FieldError{{Location: loc, Field: prefix, Message: "has an invalid value"}}
	}
	path := se.JSONPointer()
	field := strings.Join(path, ".")
	reason := se.Reason
	if se.SchemaField == "format" && se.Schema != nil {
		reason = "must be a valid " + formatNames[se.Schema.Format]
		if formatNames[se.Schema.Format] == "" {
			reason = "must be a valid " + se.Schema.Format
		}
	}
	// additionalProperties: false names the unknown property in the reason.
	if strings.HasPrefix(reason, "property ") && strings.HasSuffix(reason, " is unsupported") {
		name := strings.Trim(strings.TrimSuffix(strings.TrimPrefix(reason, "property "), " is unsupported"), `"`)
		field = strings.Trim(field+"."+name, ".")
		reason = "unknown field"
	}
	if strings.HasPrefix(reason, "property ") && strings.HasSuffix(reason, " is missing") {
		name := strings.Trim(strings.TrimSuffix(strings.TrimPrefix(reason, "property "), " is missing"), `"`)
		if len(path) == 0 || path[len(path)-1] != name {
			field = strings.Trim(field+"."+name, ".")
		}
		reason = "is required"
	}
	if prefix != "" {
		field = strings.Trim(prefix+"."+field, ".")
	}
	return []apperr.FieldError{{Location: loc, Field: field, Message: reason}}
}

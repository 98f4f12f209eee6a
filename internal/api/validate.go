package api

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"

	"secureapi/internal/auth"
	"secureapi/internal/pat"
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

var errMissingToken = apperr.New(apperr.Unauthorized, "Missing, invalid or expired access token.")

// The security schemes of openapi.yaml.
const (
	schemeBearer = "bearerAuth"
	schemePAT    = "personalAccessToken"
)

var errPATNotAccepted = apperr.New(apperr.Forbidden, "Personal access tokens are not accepted here; use an access token from a login.")

// otherScheme wraps a failure that says only that the credential belongs to
// another security scheme of the operation (a personal access token tried
// as bearerAuth); when every alternative fails, another scheme's own
// failure (a missing scope, a revoked token) is the answer.
type otherScheme struct{ err error }

func (o otherScheme) Error() string { return o.err.Error() }

// bearerToken returns the bearer credential of r, if any: the whole
// Authorization header is "Bearer " (or "bearer ") and a non-empty token of
// the characters RFC 6750's b64token allows. It runs on every request, so it
// is written out by hand (a regular expression cost ~8 µs on a JWT).
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const prefix = "earer "
	if len(h) <= 1+len(prefix) || (h[0] != 'B' && h[0] != 'b') || h[1:1+len(prefix)] != prefix {
		return "", false
	}
	tok := h[1+len(prefix):]
	for i := 0; i < len(tok); i++ {
		if !isTokenChar(tok[i]) {
			return "", false
		}
	}
	return tok, true
}

func isTokenChar(b byte) bool {
	switch {
	case 'A' <= b && b <= 'Z', 'a' <= b && b <= 'z', '0' <= b && b <= '9':
		return true
	}
	switch b {
	case '.', '_', '~', '+', '/', '=', '-':
		return true
	}
	return false
}

// authenticateScheme checks r's bearer credential against one security
// scheme of the spec and, for personal access tokens, the scopes the
// operation lists beside it, and returns r's context with the principal.
// The validator calls it for each security requirement of an operation; the
// upload route, which skips the validator, calls it through authorize.
func (s *Server) authenticateScheme(r *http.Request, scheme string, scopes []string) (context.Context, error) {
	tok, ok := bearerToken(r)
	if !ok {
		return nil, errMissingToken
	}
	isPAT := pat.LooksLike(tok)
	var (
		p   auth.Principal
		err error
	)
	switch scheme {
	case schemeBearer:
		if isPAT {
			return nil, otherScheme{errPATNotAccepted}
		}
		p, err = s.Auth.Authenticate(r.Context(), tok)
	case schemePAT:
		if !isPAT {
			return nil, otherScheme{errMissingToken}
		}
		if p, err = s.PATs.Authenticate(r.Context(), tok); err == nil {
			err = requireScopes(p.Scopes, scopes)
		}
	default:
		return nil, fmt.Errorf("security scheme %q has no authenticator", scheme)
	}
	if err != nil {
		return nil, err
	}
	return auth.WithPrincipal(r.Context(), p), nil
}

// requireScopes refuses a token that lacks any of the scopes an operation
// lists for it, naming them.
func requireScopes(have, need []string) error {
	var missing []string
	for _, sc := range need {
		if !slices.Contains(have, sc) {
			missing = append(missing, sc)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return apperr.New(apperr.Forbidden, fmt.Sprintf("This personal access token lacks the scope %s.", strings.Join(missing, " and ")))
}

// authorize checks r against an operation's security requirements the way
// the validator does (any one requirement, all schemes within it), for the
// route that skips the validator.
func (s *Server) authorize(r *http.Request, srs openapi3.SecurityRequirements) (context.Context, error) {
	var errs []error
	for _, sr := range srs {
		ctx, err := r.Context(), error(nil)
		for i, name := range schemeNames(sr) {
			rs := r
			if i > 0 {
				rs = r.WithContext(ctx) // the principal of the schemes before
			}
			if ctx, err = s.authenticateScheme(rs, name, sr[name]); err != nil {
				break
			}
		}
		if err == nil {
			return ctx, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return r.Context(), nil
	}
	return nil, securityError(errs)
}

// schemeNames are the schemes of one requirement in the validator's order
// (sorted); a requirement of one scheme, the usual case, needs no sorting.
func schemeNames(sr openapi3.SecurityRequirement) []string {
	if len(sr) == 1 {
		for name := range sr {
			return []string{name}
		}
	}
	return slices.Sorted(maps.Keys(sr))
}

// securityError picks the answer when no security requirement was met: the
// first client error that is not merely "another scheme's credential" (a
// missing scope, a revoked token); else a body over the limit (the security
// check reads the body first), a 413; else a failure of the session or
// token store, a 500 rather than a 401 that would make clients drop valid
// credentials; else the first "another scheme" answer; else 401.
func securityError(errs []error) error {
	var fallback error
	for _, e := range errs {
		var o otherScheme
		if errors.As(e, &o) {
			if fallback == nil {
				fallback = o.err
			}
			continue
		}
		if ae, ok := apperr.As(e); ok {
			return ae
		}
	}
	for _, e := range errs {
		if httpx.IsBodyTooLarge(e) {
			return apperr.New(apperr.TooLarge, "The request body is too large.")
		}
		var o otherScheme
		var re *openapi3filter.RequestError
		if !errors.As(e, &o) && !errors.As(e, &re) {
			return e
		}
	}
	if fallback != nil {
		return fallback
	}
	return errMissingToken
}

// patGate refuses personal access tokens, before any other work, on every
// API operation whose security does not list the personalAccessToken
// scheme: account management, the cookie endpoints, admin operations. The
// spec is the one list of where they are accepted.
func patGate(accepts func(echo.Context) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if tok, ok := bearerToken(c.Request()); ok && pat.LooksLike(tok) && strings.HasPrefix(c.Path(), "/api/") && !accepts(c) {
				return errPATNotAccepted
			}
			return next(c)
		}
	}
}

// specOp is one operation of the spec as the validator needs it, found
// from Echo's own route match.
type specOp struct {
	route *routers.Route
	// security is the operation's requirements (its own, or the document's
	// default).
	security openapi3.SecurityRequirements
	// checked says the operation declares parameters or a request body: only
	// then does the request go through openapi3filter.ValidateRequest; for
	// the others the security check is all there is to validate.
	checked bool
	// body says the operation declares a request body.
	body bool
}

// specOps holds every operation of the spec by Echo route template and
// method, built once per process (loadSpecIndex).
type specOps map[string]map[string]*specOp

// newSpecOps indexes spec's operations; security is operationSecurity(spec).
func newSpecOps(spec *openapi3.T, security map[string]openapi3.SecurityRequirements) specOps {
	ops := specOps{}
	for path, item := range spec.Paths.Map() {
		route := echoPath(path)
		byMethod := map[string]*specOp{}
		for method, op := range item.Operations() {
			byMethod[method] = &specOp{
				route:    &routers.Route{Spec: spec, Path: path, PathItem: item, Method: method, Operation: op},
				security: security[method+" "+route],
				checked:  len(item.Parameters) > 0 || len(op.Parameters) > 0 || op.RequestBody != nil,
				body:     op.RequestBody != nil,
			}
		}
		ops[route] = byMethod
	}
	return ops
}

// find returns the operation of Echo's match for c. A request that matched
// no route is a 404; one whose route has no operation for its method, a 405.
func (o specOps) find(c echo.Context) (*specOp, error) {
	byMethod, ok := o[c.Path()]
	if !ok {
		return nil, echo.NewHTTPError(http.StatusNotFound, routers.ErrPathNotFound.Error())
	}
	op, ok := byMethod[c.Request().Method]
	if !ok {
		return nil, echo.NewHTTPError(http.StatusMethodNotAllowed)
	}
	return op, nil
}

// echoContextKey carries the Echo context to the authentication callback.
type echoContextKey struct{}

// validator is the OpenAPI request validator. It takes the operation from
// Echo's route match (no second router) and runs only what the operation
// needs: the security check alone when the operation has no parameters and
// no body, openapi3filter.ValidateRequest (security, parameters, body, in
// that order) otherwise. Routes outside the spec (docs, spec files) and the
// streaming upload route are skipped: the validator would buffer the whole
// upload body in memory.
func (s *Server) validator(skip func(echo.Context) bool) echo.MiddlewareFunc {
	opts := &openapi3filter.Options{
		MultiError: true,
		AuthenticationFunc: func(ctx context.Context, in *openapi3filter.AuthenticationInput) error {
			ec, ok := ctx.Value(echoContextKey{}).(echo.Context)
			if !ok {
				return errMissingToken
			}
			rctx, err := s.authenticateScheme(ec.Request(), in.SecuritySchemeName, in.Scopes)
			if err != nil {
				return err
			}
			ec.SetRequest(ec.Request().WithContext(rctx))
			return nil
		},
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if skip(c) {
				return next(c)
			}
			op, err := s.spec().ops.find(c)
			if err != nil {
				return err
			}
			if !op.checked {
				if len(op.security) == 0 {
					return next(c)
				}
				// What ValidateSecurityRequirements does, with the same
				// authenticator and answer; the route takes no body, so there
				// is none to read (ignoreBody dropped any).
				ctx, err := s.authorize(c.Request(), op.security)
				if err != nil {
					return err
				}
				c.SetRequest(c.Request().WithContext(ctx))
				return next(c)
			}
			params, ok := pathParams(c)
			if !ok {
				return echo.NewHTTPError(http.StatusNotFound, routers.ErrPathNotFound.Error())
			}
			req := c.Request()
			in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: op.route, Options: opts}
			if err := openapi3filter.ValidateRequest(context.WithValue(req.Context(), echoContextKey{}, c), in); err != nil {
				var me openapi3.MultiError
				if !errors.As(err, &me) {
					me = openapi3.MultiError{err}
				}
				return validationError(me)
			}
			return next(c)
		}
	}
}

// pathParams are Echo's path parameters of c, percent-decoded as
// openapi3filter expects. An empty segment is not a match for a template
// variable (a request for /files//content names no file): ok is false.
func pathParams(c echo.Context) (map[string]string, bool) {
	names := c.ParamNames()
	if len(names) == 0 {
		return nil, true
	}
	params := make(map[string]string, len(names))
	for _, name := range names {
		v := c.Param(name)
		if v == "" {
			return nil, false
		}
		if u, err := url.PathUnescape(v); err == nil {
			v = u
		}
		params[name] = v
	}
	return params, true
}

// validationError turns the validator's findings into one client error:
// failed authentication wins (401, or what the authenticator said), then an
// oversize body (413), a wrong content type (415), then field errors (400).
func validationError(me openapi3.MultiError) error {
	var fields []apperr.FieldError
	for _, err := range me {
		var sre *openapi3filter.SecurityRequirementsError
		if errors.As(err, &sre) {
			return securityError(sre.Errors)
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

package api

import (
	"bufio"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"runtime/debug"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"secureapi"
	gen "secureapi/gen/api"
	"secureapi/internal/auth"
	"secureapi/internal/platform/apperr"
	"secureapi/internal/platform/httpx"
	"secureapi/internal/platform/ratelimit"
	"secureapi/internal/platform/tracing"
)

// multipartOverhead is what an upload body may carry beyond the file itself
// (boundaries and part headers).
const multipartOverhead = 1 << 20

// NewRouter builds the complete HTTP handler: middleware, request validation
// from the embedded spec, the generated routes and the service endpoints.
// Tests build exactly this router.
func NewRouter(d Deps) (*echo.Echo, error) {
	s := &Server{Deps: d}
	cfg := d.Config

	acceptsPAT := func(c echo.Context) bool {
		op := s.spec().ops[c.Path()][c.Request().Method]
		if op == nil {
			return false
		}
		for _, sr := range op.security {
			if _, ok := sr[schemePAT]; ok {
				return true
			}
		}
		return false
	}
	yamlH, jsonH := specHandlers(secureapi.OpenAPI)
	pages, pageCSP, err := pageHandlers()
	if err != nil {
		return nil, err
	}
	pathCSP := map[string]string{"/docs": docsCSP, "/docs/": docsCSP, "/docs/index.html": docsCSP}
	for path := range pages {
		pathCSP[path] = pageCSP
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// Echo v4's default extractor trusts spoofable headers: the client IP is the
	// socket peer unless that peer is a configured trusted proxy.
	e.IPExtractor = httpx.IPExtractor(cfg.TrustedProxies)
	e.HTTPErrorHandler = errorHandler(d.Log)

	isUpload := func(c echo.Context) bool {
		return c.Request().Method == http.MethodPost && c.Path() == "/api/v1/files"
	}
	// Routes from the spec are validated; everything else (docs, spec files)
	// is not. Unmatched paths are validated so they get the validator's 404.
	gen.RegisterHandlers(e, gen.NewStrictHandler(s, nil))
	routes := e.Routes()
	specRoutes := map[string]bool{}
	for _, r := range routes {
		specRoutes[r.Path] = true
	}
	// The spec is indexed on the first request that needs it, not here: see
	// loadSpecIndex. The validator finds operations by Echo's route, so every
	// generated route must have one.
	s.specIndex = sync.OnceValues(func() (*specIndex, error) {
		idx, err := loadSpecIndex()
		if err != nil {
			return nil, err
		}
		for _, r := range routes {
			if idx.ops[r.Path][r.Method] == nil {
				return nil, fmt.Errorf("route %s %s has no operation in the spec", r.Method, r.Path)
			}
		}
		return idx, nil
	})
	outsideSpec := func(c echo.Context) bool { return c.Path() != "" && !specRoutes[c.Path()] }
	// Health probes (GET, their one declared method) have no parameters,
	// body or security: nothing of the spec applies to them, and the server
	// answers them without reading it. Other methods get the validator's 405.
	probeGET := func(c echo.Context) bool { return c.Request().Method == http.MethodGet && probe(c) }
	takesBody := func(c echo.Context) bool {
		if probeGET(c) {
			return false
		}
		op := s.spec().ops[c.Path()][c.Request().Method]
		return op != nil && op.body
	}

	// Echo v4 calls every e.Use middleware anew on each request to build the
	// chain, a closure allocation per middleware per request. The chain is
	// the same for every request, so it is built once: use collects the
	// middleware, and the single e.Use below returns the built chain, whose
	// end runs the handler Echo's router chose (what Echo passes as next).
	var mws []echo.MiddlewareFunc
	use := func(m ...echo.MiddlewareFunc) { mws = append(mws, m...) }
	// Tracing first so its span covers everything (a no-op unless OTEL_* is set).
	use(tracing.Middleware())
	if d.Metrics != nil {
		use(d.Metrics.Middleware())
	}
	use(
		httpx.RequestID(),
		httpx.AccessLog(d.Log),
		httpx.Recover(d.Log),
		requestContext(),
		syncView(d.View),
		httpx.SecurityHeaders(httpx.SecurityHeadersConfig{
			Trusted:         cfg.TrustedProxies,
			PathCSP:         pathCSP,
			NoStorePrefixes: []string{"/api/"},
		}),
		httpx.HostCheck(cfg.AllowedHosts, probe),
		httpx.CORS(cfg.CORSAllowedOrigins),
		ignoreBody(takesBody),
		httpx.BodyLimit(cfg.MaxBodyBytes, isUpload),
		// Per-IP limits run before any work (password hashing, body parsing).
		ratelimit.Middleware(d.Limiter, s.ipRules(), s.onRateLimited),
		// During a login flood the callers the hasher cannot take are turned
		// away here, before their bodies are read and validated.
		hashAdmission(d.Auth, publicHashing),
		patGate(acceptsPAT),
		s.uploadGuard(isUpload),
		s.validator(func(c echo.Context) bool { return outsideSpec(c) || isUpload(c) || probeGET(c) }),
		// Probes read nothing from the request, so nothing in it can be refused.
		textGuard(func(c echo.Context) bool { return outsideSpec(c) || isUpload(c) || probe(c) }),
		// The per-user limit needs the caller, known only after authentication.
		ratelimit.Middleware(d.Limiter, s.userRules(), s.onRateLimited),
	)
	chain := routed
	for i := len(mws) - 1; i >= 0; i-- {
		chain = mws[i](chain)
	}
	// The only e.Use: with another, next would not be the routed handler.
	e.Use(func(echo.HandlerFunc) echo.HandlerFunc { return chain })

	e.GET("/openapi.yaml", yamlH)
	e.GET("/openapi.json", jsonH)
	e.GET("/docs", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/docs/") })
	e.GET("/docs/*", docsHandler())
	for path, h := range pages {
		e.GET(path, h)
	}
	return e, nil
}

// specIndex is what the router takes from openapi.yaml.
type specIndex struct {
	// ops indexes the operations (security, parameters, body) by Echo
	// route and method.
	ops specOps
	// downloadTypes are the media types declared for file downloads.
	downloadTypes map[string]bool
}

// loadSpecIndex parses openapi.yaml and indexes it, once per process and on
// first use: parsing is most of the cost of building a router (some 12 ms
// and 1 MiB that stays), which a server that has only answered health
// probes has no need for yet, and every router (tests build many) shares
// the result, since validation only reads it.
var loadSpecIndex = sync.OnceValues(func() (*specIndex, error) {
	spec, err := openapi3.NewLoader().LoadFromData(secureapi.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("load embedded spec: %w", err)
	}
	// The validator works on its own copy without servers: with servers set it
	// would match requests on Host too. The published documents are the file.
	spec.Servers = nil
	security, err := operationSecurity(spec)
	if err != nil {
		return nil, err
	}
	downloads, err := responseMediaTypes(spec, "/api/v1/files/{id}/content", http.MethodGet, http.StatusOK)
	if err != nil {
		return nil, err
	}
	idx := &specIndex{ops: newSpecOps(spec, security), downloadTypes: downloads}
	// Parsing left a few MiB of garbage: give it back to the system now, off
	// the request's path, rather than when the scavenger gets to it.
	go debug.FreeOSMemory()
	return idx, nil
})

// spec returns the router's spec index, loading it on first use. It fails
// only if the openapi.yaml built into the binary is broken, which every test
// that makes an API request would show: the panic becomes a 500 (Recover).
func (s *Server) spec() *specIndex {
	idx, err := s.specIndex()
	if err != nil {
		panic(err)
	}
	return idx
}

// routed runs the handler Echo's router chose for c: the route's, or its
// not-found or method-not-allowed handler.
func routed(c echo.Context) error { return c.Handler()(c) }

// responseMediaTypes lists the media types the spec declares for one response.
func responseMediaTypes(spec *openapi3.T, path, method string, status int) (map[string]bool, error) {
	item := spec.Paths.Find(path)
	if item == nil || item.GetOperation(method) == nil {
		return nil, fmt.Errorf("spec: no operation %s %s", method, path)
	}
	res := item.GetOperation(method).Responses.Status(status)
	if res == nil || res.Value == nil || len(res.Value.Content) == 0 {
		return nil, fmt.Errorf("spec: %s %s declares no content for %d", method, path, status)
	}
	out := map[string]bool{}
	for mt := range res.Value.Content {
		out[mt] = true
	}
	return out, nil
}

// ignoreBody drops the body of a request to a route that takes none, before
// anything can read it. Such a body means nothing to the route, so it is
// neither refused as too large (413) nor buffered: the validator's security
// check would otherwise read all of it. net/http discards or cuts off the
// unread bytes after the response.
func ignoreBody(takesBody func(echo.Context) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if r := c.Request(); !takesBody(c) && (r.ContentLength != 0 || r.Body != http.NoBody && r.Body != nil) {
				r.Body, r.ContentLength = http.NoBody, 0
				r.Header.Del("Content-Length")
				r.Header.Del("Content-Type")
				r.TransferEncoding = nil
			}
			return next(c)
		}
	}
}

// authRoutes are the credential endpoints (method and route): stricter
// per-IP limits slow password guessing and account enumeration across
// accounts. Every request that checks a password, spends a mailed token or
// sends mail is one.
var authRoutes = map[string]bool{
	"POST /api/v1/auth/login": true, "POST /api/v1/auth/register": true, "POST /api/v1/auth/refresh": true,
	"POST /api/v1/auth/password/forgot": true, "POST /api/v1/auth/password/reset": true,
	"POST /api/v1/users/me/password": true, "DELETE /api/v1/users/me": true,
	"POST /api/v1/users/me/email": true, "POST /api/v1/users/me/email/confirm": true,
	"POST /api/v1/auth/email/verify": true, "POST /api/v1/auth/email/verify/resend": true,
	// Second-factor codes and the passwords that go with them.
	"POST /api/v1/auth/mfa/verify": true, "POST /api/v1/users/me/mfa/totp": true, "POST /api/v1/users/me/mfa/totp/confirm": true,
	"POST /api/v1/users/me/mfa/totp/disable": true, "POST /api/v1/users/me/mfa/recovery-codes": true,
}

var specParam = regexp.MustCompile(`\{([^}/]+)\}`)

// echoPath is the Echo route template of a spec path ("/files/{id}" ->
// "/files/:id").
func echoPath(specPath string) string { return specParam.ReplaceAllString(specPath, ":$1") }

// operationSecurity maps "METHOD /echo/:path" to the security requirements
// of the spec's operation there (its own, or the document's default), so
// middleware that runs outside the validator enforces exactly what the spec
// declares. It also checks that every personal access token scope an
// operation asks for is one that tokens can be created with.
func operationSecurity(spec *openapi3.T) (map[string]openapi3.SecurityRequirements, error) {
	known := map[string]bool{}
	if ref := spec.Components.Schemas["AccessTokenScope"]; ref != nil && ref.Value != nil {
		for _, v := range ref.Value.Enum {
			if sc, ok := v.(string); ok {
				known[sc] = true
			}
		}
	}
	if spec.Components.SecuritySchemes[schemeBearer] == nil || spec.Components.SecuritySchemes[schemePAT] == nil {
		return nil, fmt.Errorf("openapi.yaml must declare the %s and %s security schemes", schemeBearer, schemePAT)
	}
	out := map[string]openapi3.SecurityRequirements{}
	for path, item := range spec.Paths.Map() {
		route := echoPath(path)
		for method, op := range item.Operations() {
			sec := spec.Security
			if op.Security != nil {
				sec = *op.Security
			}
			for _, sr := range sec {
				for _, sc := range sr[schemePAT] {
					if !known[sc] {
						return nil, fmt.Errorf("openapi.yaml: %s %s asks for scope %q, which AccessTokenScope does not list", method, path, sc)
					}
				}
			}
			out[method+" "+route] = sec
		}
	}
	return out, nil
}

func probe(c echo.Context) bool { p := c.Path(); return p == "/healthz" || p == "/readyz" }

func (s *Server) ipRules() []ratelimit.Rule {
	cfg := s.Config
	burst := func(n int) ratelimit.Limit { return ratelimit.Limit{PerMinute: n, Burst: cfg.RateBurst(n)} }
	return []ratelimit.Rule{
		{Name: "ip", Limit: burst(cfg.RateLimitIPPerMinute), Key: func(c echo.Context) (string, bool) {
			// Keyed by the trusted-proxy-aware extractor: a spoofed X-Forwarded-For
			// does not change it. Load-balancer probes are never limited.
			return httpx.ClientIP(c), !probe(c)
		}},
		{Name: "auth", Limit: burst(cfg.RateLimitAuthPerMinute), Key: func(c echo.Context) (string, bool) {
			if !authRoutes[c.Request().Method+" "+c.Path()] {
				return "", false // and no client address to format
			}
			return httpx.ClientIP(c), true
		}},
	}
}

func (s *Server) userRules() []ratelimit.Rule {
	n := s.Config.RateLimitUserPerMinute
	return []ratelimit.Rule{
		{Name: "user", Limit: ratelimit.Limit{PerMinute: n, Burst: s.Config.RateBurst(n)}, Key: func(c echo.Context) (string, bool) {
			p, ok := auth.PrincipalFrom(c.Request().Context())
			return p.UserID, ok
		}},
	}
}

func (s *Server) onRateLimited(rule string) {
	if s.Metrics != nil {
		s.Metrics.RateLimited(rule)
	}
}

// uploadReadBuffer is the read buffer between an upload's connection and
// its multipart reader.
const uploadReadBuffer = 64 << 10

// bufferedBody reads a request body through a buffer and closes the body.
type bufferedBody struct {
	*bufio.Reader
	io.Closer
}

// uploadGuard gives the upload route what the validator gives every other
// route, without buffering the body: a size limit (declared lengths refused
// before reading, chunked bodies cut off while streaming) and authentication
// (with personal access token scopes) by the same code, from the operation's
// security requirements in the spec.
func (s *Server) uploadGuard(isUpload func(echo.Context) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !isUpload(c) {
				return next(c)
			}
			r := c.Request()
			ctx, err := s.authorize(r, s.spec().ops["/api/v1/files"][http.MethodPost].security)
			if err != nil {
				return err
			}
			limit := s.Config.MaxUploadBytes + multipartOverhead
			if r.ContentLength > limit {
				return apperr.New(apperr.TooLarge, fmt.Sprintf("The upload exceeds the %d-byte limit.", s.Config.MaxUploadBytes))
			}
			if mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
				return apperr.New(apperr.Unsupported, "The upload must be multipart/form-data (with a boundary) and a part named file.")
			}
			body := http.MaxBytesReader(c.Response(), r.Body, limit)
			// mime/multipart reads the body 4 KiB at a time, each read one
			// syscall on the connection; a larger buffer in between lets a
			// 1 MiB upload arrive in 16 reads instead of 256.
			r.Body = bufferedBody{bufio.NewReaderSize(body, uploadReadBuffer), body}
			c.SetRequest(r.WithContext(ctx))
			return next(c)
		}
	}
}

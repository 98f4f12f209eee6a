package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"secureapi/internal/api/apitest"
	"secureapi/internal/store"
)

// securityHeaders must be on every response, errors included.
var securityHeaders = map[string]string{
	"X-Content-Type-Options":       "nosniff",
	"X-Frame-Options":              "DENY",
	"Content-Security-Policy":      "default-src 'none'; frame-ancestors 'none'",
	"Referrer-Policy":              "no-referrer",
	"Cross-Origin-Opener-Policy":   "same-origin",
	"Cross-Origin-Resource-Policy": "same-origin",
	"X-XSS-Protection":             "0",
	"Server":                       "",
	"Strict-Transport-Security":    "", // plain HTTP from an untrusted peer
}

func withHeaders(extra map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range securityHeaders {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

func TestServiceEndpointsAndErrors(t *testing.T) {
	apitest.Each(t, map[string]string{"CORS_ALLOWED_ORIGINS": "https://app.example.com"}, func(t *testing.T, e *apitest.Env) {
		e.Run(t, []apitest.Scenario{
			{Name: "liveness", Request: apitest.Request{URL: "/healthz"}, WantStatus: 200, WantHeaders: securityHeaders},
			{Name: "readiness", Request: apitest.Request{URL: "/readyz"}, WantStatus: 200},
			{Name: "probes ignore their query", Request: apitest.Request{URL: "/healthz?x=%00%FF"}, WantStatus: 200},
			{Name: "jwks lists the signing key", Request: apitest.Request{URL: "/.well-known/jwks.json"}, WantStatus: 200,
				Check: func(t *testing.T, res *apitest.Response) {
					keys := res.JSON(t)["keys"].([]any)
					k := keys[0].(map[string]any)
					if len(keys) != 1 || k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["alg"] != "EdDSA" || k["d"] != nil {
						t.Fatalf("jwks = %s", res.Body)
					}
				}},
			{Name: "spec as yaml", Request: apitest.Request{URL: "/openapi.yaml"}, WantStatus: 200,
				Check: func(t *testing.T, res *apitest.Response) {
					if !strings.HasPrefix(string(res.Body), "openapi: 3.0.3") {
						t.Fatalf("body starts %q", res.Body[:20])
					}
				}},
			{Name: "spec as json", Request: apitest.Request{URL: "/openapi.json"}, WantStatus: 200,
				Check: func(t *testing.T, res *apitest.Response) {
					if res.JSON(t)["openapi"] != "3.0.3" {
						t.Fatal("not the spec")
					}
				}},
			{Name: "docs page with its own CSP and no outside hosts", Request: apitest.Request{URL: "/docs/"}, WantStatus: 200,
				Check: func(t *testing.T, res *apitest.Response) {
					// No inline script may run: Swagger UI and its start-up are files.
					csp := res.Header.Get("Content-Security-Policy")
					if !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "http") {
						t.Fatalf("docs CSP = %q", csp)
					}
					body := string(res.Body)
					if strings.Contains(body, "<script>") {
						t.Fatal("docs page has an inline script its CSP refuses")
					}
					for _, src := range []string{`src="/docs/swagger-ui-bundle.js"`, `src="/docs/docs.js"`, `href="/docs/swagger-ui.css"`} {
						if !strings.Contains(body, src) {
							t.Fatalf("docs page lacks %s", src)
						}
					}
					for _, host := range []string{"http://", "https://"} {
						for _, tag := range []string{`src="` + host, `href="` + host} {
							if strings.Contains(body, tag) {
								t.Fatalf("docs page loads from an outside host: %s", tag)
							}
						}
					}
				}},
			{Name: "docs start-up script", Request: apitest.Request{URL: "/docs/docs.js"}, WantStatus: 200,
				WantHeaders: map[string]string{"Content-Type": "text/javascript; charset=utf-8"},
				Check: func(t *testing.T, res *apitest.Response) {
					if !strings.Contains(string(res.Body), `url: "/openapi.json"`) {
						t.Fatalf("docs.js does not load this server's spec: %s", res.Body)
					}
				}},
			{Name: "docs asset, compressed when asked", WantStatus: 200,
				Request:     apitest.Request{URL: "/docs/swagger-ui-bundle.js", Headers: map[string]string{"Accept-Encoding": "gzip"}},
				WantHeaders: map[string]string{"Content-Encoding": "gzip", "Content-Type": "application/javascript"}},
			{Name: "docs asset, plain otherwise", Request: apitest.Request{URL: "/docs/swagger-ui.css"}, WantStatus: 200,
				WantHeaders: map[string]string{"Content-Type": "text/css; charset=utf-8"},
				Check: func(t *testing.T, res *apitest.Response) {
					if res.Header.Get("Content-Encoding") != "" || !strings.Contains(string(res.Body), ".swagger-ui") {
						t.Fatalf("css not served plain: encoding %q", res.Header.Get("Content-Encoding"))
					}
				}},
			{Name: "unknown docs file is a 404 problem", Request: apitest.Request{URL: "/docs/nope.js"}, WantStatus: 404,
				WantProblem: "not-found"},
			{Name: "unknown route is a 404 problem with headers", Request: apitest.Request{URL: "/nope"}, WantStatus: 404,
				WantProblem: "not-found", WantHeaders: securityHeaders},
			{Name: "wrong method is a 405 problem", Request: apitest.Request{Method: "PUT", URL: "/api/v1/users/me"}, WantStatus: 405,
				WantProblem: "method-not-allowed", WantHeaders: securityHeaders},
			{Name: "validation lists every field", WantStatus: 400, WantProblem: "validation",
				WantHeaders: withHeaders(map[string]string{"Cache-Control": "no-store"}),
				Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/register",
					Body: map[string]any{"email": "not-an-email", "username": "x", "password": "Aa1aaaaa", "role": "admin"}},
				Check: func(t *testing.T, res *apitest.Response) {
					got := map[string]string{}
					for _, fe := range res.JSON(t)["errors"].([]any) {
						m := fe.(map[string]any)
						if m["location"] != "body" {
							t.Errorf("location = %v", m["location"])
						}
						got[m["field"].(string)] = m["message"].(string)
					}
					want := map[string]string{"email": "must be a valid email address", "username": "minimum string length is 3", "role": "unknown field"}
					for f, msg := range want {
						if got[f] != msg {
							t.Errorf("field %s: message %q, want %q (all: %v)", f, got[f], msg, got)
						}
					}
				}},
			{Name: "missing required field", WantStatus: 400, WantProblem: "validation",
				Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/login", Body: map[string]any{"email": "a@example.com"}},
				Check: func(t *testing.T, res *apitest.Response) {
					fe := res.JSON(t)["errors"].([]any)[0].(map[string]any)
					if fe["field"] != "password" || fe["message"] != "is required" {
						t.Fatalf("errors = %v", fe)
					}
				}},
			{Name: "malformed JSON", WantStatus: 400, WantProblem: "validation",
				Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/login", Body: `{"email":`}},
			{Name: "wrong content type is 415", WantStatus: 415, WantProblem: "unsupported-media-type",
				Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/login", Body: "email=a", Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}},
			{Name: "body over the limit is 413", WantStatus: 413, WantProblem: "payload-too-large",
				Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/login", Body: `{"email":"` + strings.Repeat("a", 2<<20) + `"}`}},
			{Name: "authentication is checked before parameters", WantStatus: 401, WantProblem: "unauthorized",
				Request: apitest.Request{URL: "/api/v1/users?limit=1000", Token: "x"},
				Check: func(t *testing.T, res *apitest.Response) {
					// Authentication is checked before anything else.
					if res.Status != 401 {
						return
					}
				}},
			{Name: "missing token is 401", WantStatus: 401, WantProblem: "unauthorized",
				WantHeaders: withHeaders(map[string]string{"WWW-Authenticate": `Bearer realm="api"`, "Cache-Control": "no-store"}),
				Request:     apitest.Request{URL: "/api/v1/users/me"}},
			{Name: "garbage token is 401", WantStatus: 401, WantProblem: "unauthorized",
				Request: apitest.Request{URL: "/api/v1/users/me", Token: "not.a.jwt"}},
			{Name: "sane request id is echoed", Request: apitest.Request{URL: "/healthz", Headers: map[string]string{"X-Request-ID": "trace-123.abc"}},
				WantStatus: 200, WantHeaders: map[string]string{"X-Request-ID": "trace-123.abc"}},
			{Name: "hostile request id is replaced", Request: apitest.Request{URL: "/nope", Headers: map[string]string{"X-Request-ID": "<script>alert(1)</script>"}},
				WantStatus: 404, Check: func(t *testing.T, res *apitest.Response) {
					id := res.Header.Get("X-Request-ID")
					if id == "" || strings.Contains(id, "<") || res.JSON(t)["request_id"] != id {
						t.Fatalf("request id = %q", id)
					}
				}},
			{Name: "CORS: allowed origin", Request: apitest.Request{URL: "/healthz", Headers: map[string]string{"Origin": "https://app.example.com"}},
				WantStatus: 200, WantHeaders: map[string]string{"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Allow-Credentials": "true"}},
			{Name: "CORS: other origin gets no grant", Request: apitest.Request{URL: "/healthz", Headers: map[string]string{"Origin": "https://evil.example"}},
				WantStatus: 200, WantHeaders: map[string]string{"Access-Control-Allow-Origin": ""}},
			{Name: "CORS: preflight", Request: apitest.Request{Method: "OPTIONS", URL: "/api/v1/auth/login", Headers: map[string]string{
				"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}},
				WantStatus: 204, Check: func(t *testing.T, res *apitest.Response) {
					if res.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || !strings.Contains(res.Header.Get("Access-Control-Allow-Methods"), "POST") {
						t.Fatalf("preflight headers = %v", res.Header)
					}
				}},
			{Name: "CORS: preflight from other origin", Request: apitest.Request{Method: "OPTIONS", URL: "/api/v1/auth/login", Headers: map[string]string{
				"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}},
				Check: func(t *testing.T, res *apitest.Response) {
					if res.Header.Get("Access-Control-Allow-Origin") != "" {
						t.Fatalf("denied preflight granted: %v", res.Header)
					}
				}},
			{Name: "spoofed X-Forwarded-Proto from an untrusted peer gets no HSTS", Request: apitest.Request{URL: "/healthz", Headers: map[string]string{"X-Forwarded-Proto": "https"}},
				WantStatus: 200, WantHeaders: map[string]string{"Strict-Transport-Security": ""}},
		})
	})
}

func TestAllowedHosts(t *testing.T) {
	e := apitest.New(t, "sqlite", map[string]string{"ALLOWED_HOSTS": "api.example.com"})
	e.Run(t, []apitest.Scenario{
		{Name: "listed host", Request: apitest.Request{URL: "http://api.example.com/readyz"}, WantStatus: 200},
		{Name: "unknown host refused", Request: apitest.Request{URL: "http://evil.example/openapi.json"}, WantStatus: 400, WantProblem: "bad-request",
			WantHeaders: securityHeaders},
		{Name: "probes answer on any host", Request: apitest.Request{URL: "http://10.0.0.5/healthz"}, WantStatus: 200},
	})
}

func TestTrustedProxyHSTS(t *testing.T) {
	e := apitest.New(t, "sqlite", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8"})
	res := e.Do(t, apitest.Request{URL: "/healthz", RemoteAddr: "10.1.2.3:5555", Headers: map[string]string{"X-Forwarded-Proto": "https"}})
	if !strings.HasPrefix(res.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Fatalf("HSTS missing behind a trusted TLS proxy: %v", res.Header)
	}
}

func TestPanicIsA500ProblemWithoutInternals(t *testing.T) {
	e := apitest.New(t, "sqlite", nil)
	e.App.Handler.(*echo.Echo).GET("/boom", func(echo.Context) error { panic("secret internal detail /etc/passwd") })
	res := e.Serve(t, apitest.NewHTTPRequest(t, apitest.Request{URL: "/boom"}))
	if res.Status != 500 {
		t.Fatalf("status = %d", res.Status)
	}
	p := apitest.AssertProblem(t, res, "internal")
	for k, v := range securityHeaders {
		if got := res.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if strings.Contains(string(res.Body), "secret") || strings.Contains(string(res.Body), "goroutine") || p["detail"] != "An unexpected error occurred." {
		t.Fatalf("500 body leaks internals: %s", res.Body)
	}
	if !strings.Contains(e.Logs.String(), "secret internal detail") || !strings.Contains(e.Logs.String(), p["request_id"].(string)) {
		t.Fatal("the panic is not logged with its request id")
	}
}

// An instance whose database is behind the code (a rollback, or a deploy that
// skipped migrations) must leave the load balancer until it is migrated.
func TestReadinessWhenMigrationsArePending(t *testing.T) {
	apitest.Each(t, nil, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		p, err := store.Migrations(e.App.DB)
		if err != nil {
			t.Fatal(err)
		}
		sources := p.ListSources()
		if _, err := p.DownTo(ctx, sources[len(sources)-2].Version); err != nil {
			t.Fatal(err)
		}
		res := e.Do(t, apitest.Request{URL: "/readyz"})
		if res.Status != http.StatusServiceUnavailable {
			t.Fatalf("status = %d with a migration rolled back", res.Status)
		}
		apitest.AssertProblem(t, res, "service-unavailable")
		if strings.Contains(string(res.Body), "goose") || strings.Contains(string(res.Body), "version") {
			t.Fatalf("readiness problem names database internals: %s", res.Body)
		}
		if err := store.MigrateUp(ctx, e.App.DB); err != nil {
			t.Fatal(err)
		}
		if res := e.Do(t, apitest.Request{URL: "/readyz"}); res.Status != http.StatusOK {
			t.Fatalf("status = %d after migrating", res.Status)
		}
	})
}

func TestReadinessWhenDatabaseIsGone(t *testing.T) {
	apitest.Each(t, nil, func(t *testing.T, e *apitest.Env) {
		e.App.DB.Close()
		res := e.Do(t, apitest.Request{URL: "/readyz"})
		if res.Status != http.StatusServiceUnavailable {
			t.Fatalf("status = %d", res.Status)
		}
		apitest.AssertProblem(t, res, "service-unavailable")
		if res.Header.Get("Retry-After") == "" {
			t.Fatal("no Retry-After")
		}
		if e.Do(t, apitest.Request{URL: "/healthz"}).Status != 200 {
			t.Fatal("liveness must not touch the database")
		}
	})
}

package httpx_test

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"secureapi/internal/platform/httpx"
)

const docsCSP = "default-src 'self'; script-src 'self'; style-src 'self'"

func newSecurityEcho(t *testing.T, cfg httpx.SecurityHeadersConfig) *echo.Echo {
	t.Helper()
	e := echo.New()
	e.Use(httpx.SecurityHeaders(cfg))
	e.GET("/ok", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"ok": "1"}) })
	e.GET("/api/ok", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"ok": "1"}) })
	e.GET("/api/fail", func(c echo.Context) error { return errors.New("database exploded") })
	e.GET("/api/http-error", func(c echo.Context) error { return echo.NewHTTPError(http.StatusConflict, "conflict") })
	e.GET("/api/cacheable", func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "private, max-age=60")
		return c.NoContent(http.StatusOK)
	})
	e.GET("/server", func(c echo.Context) error {
		c.Response().Header().Set("Server", "leaky/1.0")
		return c.NoContent(http.StatusOK)
	})
	e.GET("/docs", func(c echo.Context) error { return c.HTML(http.StatusOK, "<html></html>") })
	return e
}

func TestSecurityHeaders(t *testing.T) {
	always := map[string]string{
		"X-Content-Type-Options":       "nosniff",
		"X-Frame-Options":              "DENY",
		"Referrer-Policy":              "no-referrer",
		"Cross-Origin-Opener-Policy":   "same-origin",
		"Cross-Origin-Resource-Policy": "same-origin",
		"X-Xss-Protection":             "0",
		"Permissions-Policy":           "camera=(), microphone=(), geolocation=()",
	}
	cfg := httpx.SecurityHeadersConfig{
		Trusted:         prefixes(t, "10.0.0.0/8"),
		PathCSP:         map[string]string{"/docs": docsCSP},
		NoStorePrefixes: []string{"/api/"},
	}
	tests := []struct {
		name         string
		method       string
		path         string
		tls          bool
		remote       string
		xfp          string
		wantStatus   int
		wantCSP      string
		wantHSTS     string
		wantCacheCtl string
	}{
		{name: "200", method: http.MethodGet, path: "/ok", wantStatus: 200, wantCSP: httpx.DefaultCSP},
		{name: "404 unknown route", method: http.MethodGet, path: "/nope", wantStatus: 404, wantCSP: httpx.DefaultCSP},
		{name: "404 under no-store prefix", method: http.MethodGet, path: "/api/nope", wantStatus: 404, wantCSP: httpx.DefaultCSP, wantCacheCtl: "no-store"},
		{name: "405", method: http.MethodPost, path: "/ok", wantStatus: 405, wantCSP: httpx.DefaultCSP},
		{name: "handler error 500", method: http.MethodGet, path: "/api/fail", wantStatus: 500, wantCSP: httpx.DefaultCSP, wantCacheCtl: "no-store"},
		{name: "handler http error", method: http.MethodGet, path: "/api/http-error", wantStatus: 409, wantCSP: httpx.DefaultCSP, wantCacheCtl: "no-store"},
		{name: "no-store prefix 200", method: http.MethodGet, path: "/api/ok", wantStatus: 200, wantCSP: httpx.DefaultCSP, wantCacheCtl: "no-store"},
		{name: "handler overrides cache-control", method: http.MethodGet, path: "/api/cacheable", wantStatus: 200, wantCSP: httpx.DefaultCSP, wantCacheCtl: "private, max-age=60"},
		{name: "docs csp override", method: http.MethodGet, path: "/docs", wantStatus: 200, wantCSP: docsCSP},
		{name: "docs override is exact", method: http.MethodGet, path: "/docs/x", wantStatus: 404, wantCSP: httpx.DefaultCSP},
		{name: "hsts over tls", method: http.MethodGet, path: "/ok", tls: true, wantStatus: 200, wantCSP: httpx.DefaultCSP, wantHSTS: "max-age=31536000; includeSubDomains"},
		{name: "hsts on error over tls", method: http.MethodGet, path: "/nope", tls: true, wantStatus: 404, wantCSP: httpx.DefaultCSP, wantHSTS: "max-age=31536000; includeSubDomains"},
		{name: "hsts via trusted proxy", method: http.MethodGet, path: "/ok", remote: "10.0.0.1:1", xfp: "https", wantStatus: 200, wantCSP: httpx.DefaultCSP, wantHSTS: "max-age=31536000; includeSubDomains"},
		{name: "no hsts for spoofed proto", method: http.MethodGet, path: "/ok", remote: "203.0.113.9:1", xfp: "https", wantStatus: 200, wantCSP: httpx.DefaultCSP},
	}
	e := newSecurityEcho(t, cfg)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			req.TLS = nil
			if tt.tls {
				req.TLS = &tls.ConnectionState{}
			}
			if tt.remote != "" {
				req.RemoteAddr = tt.remote
			}
			if tt.xfp != "" {
				req.Header.Set("X-Forwarded-Proto", tt.xfp)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			h := rec.Result().Header
			for k, v := range always {
				if got := h.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if got := h.Get("Content-Security-Policy"); got != tt.wantCSP {
				t.Errorf("CSP = %q, want %q", got, tt.wantCSP)
			}
			if got := h.Get("Strict-Transport-Security"); got != tt.wantHSTS {
				t.Errorf("HSTS = %q, want %q", got, tt.wantHSTS)
			}
			if got := h.Get("Cache-Control"); got != tt.wantCacheCtl {
				t.Errorf("Cache-Control = %q, want %q", got, tt.wantCacheCtl)
			}
			if _, ok := h["Server"]; ok {
				t.Errorf("Server header present: %q", h.Get("Server"))
			}
		})
	}
}

func TestSecurityHeadersRemovesServerSetByHandler(t *testing.T) {
	e := newSecurityEcho(t, httpx.SecurityHeadersConfig{})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/server", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d", rec.Code)
	}
	if got := rec.Result().Header.Values("Server"); len(got) != 0 {
		t.Fatalf("Server header = %q, want none", got)
	}
}

func TestSecurityHeadersHSTSMaxAge(t *testing.T) {
	tests := []struct {
		name   string
		maxAge time.Duration
		want   string
	}{
		{"default", 0, "max-age=31536000; includeSubDomains"},
		{"custom", 2 * time.Hour, "max-age=7200; includeSubDomains"},
		{"disabled", -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSecurityEcho(t, httpx.SecurityHeadersConfig{HSTSMaxAge: tt.maxAge})
			req := httptest.NewRequest(http.MethodGet, "/ok", nil)
			req.TLS = &tls.ConnectionState{}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if got := rec.Result().Header.Get("Strict-Transport-Security"); got != tt.want {
				t.Fatalf("HSTS = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHostCheck(t *testing.T) {
	healthz := func(c echo.Context) bool { return c.Path() == "/healthz" }
	tests := []struct {
		name    string
		allowed []string
		skip    func(echo.Context) bool
		path    string
		host    string
		want    int
	}{
		{"allowed host", []string{"api.example.com"}, nil, "/r", "api.example.com", 200},
		{"case-insensitive with port stripped", []string{"api.example.com"}, nil, "/r", "API.Example.COM:443", 200},
		{"entry case-insensitive", []string{"API.example.com"}, nil, "/r", "api.example.com", 200},
		{"unknown host", []string{"api.example.com"}, nil, "/r", "evil.example", 400},
		{"suffix is not a match", []string{"example.com"}, nil, "/r", "evil-example.com", 400},
		{"subdomain is not a match", []string{"example.com"}, nil, "/r", "api.example.com", 400},
		{"entry with port matches same port", []string{"localhost:8080"}, nil, "/r", "localhost:8080", 200},
		{"entry with port rejects other port", []string{"localhost:8080"}, nil, "/r", "localhost:9090", 400},
		{"entry with port rejects missing port", []string{"localhost:8080"}, nil, "/r", "localhost", 400},
		{"ipv6 entry", []string{"[::1]"}, nil, "/r", "[::1]:8080", 200},
		{"ipv6 entry with port", []string{"[::1]:8080"}, nil, "/r", "[::1]:8081", 400},
		{"empty host rejected", []string{"api.example.com"}, nil, "/r", "", 400},
		{"empty list allows all", nil, nil, "/r", "evil.example", 200},
		{"skip exempts path", []string{"api.example.com"}, healthz, "/healthz", "10.1.2.3:8080", 200},
		{"skip does not exempt others", []string{"api.example.com"}, healthz, "/r", "10.1.2.3:8080", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := echo.New()
			e.Use(httpx.HostCheck(tt.allowed, tt.skip))
			e.GET("/r", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
			e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			req.Host = tt.host
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status = %d, want %d", rec.Code, tt.want)
			}
			if tt.want == 400 && !strings.Contains(rec.Body.String(), "host not allowed") {
				t.Fatalf("body = %q, want host not allowed message", rec.Body.String())
			}
		})
	}
}

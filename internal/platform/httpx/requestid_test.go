package httpx_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"secureapi/internal/platform/httpx"
	"secureapi/internal/platform/reqinfo"
)

func TestRequestID(t *testing.T) {
	tests := []struct {
		name     string
		incoming []string
		keep     bool
	}{
		{"sane id kept", []string{"abc-123.DEF_x:y"}, true},
		{"64 chars kept", []string{strings.Repeat("a", 64)}, true},
		{"65 chars replaced", []string{strings.Repeat("a", 65)}, false},
		{"newline replaced", []string{"abc\ninjected: 1"}, false},
		{"spaces replaced", []string{"abc def"}, false},
		{"slash replaced", []string{"../etc"}, false},
		{"non-ascii replaced", []string{"abcé"}, false},
		{"missing generated", nil, false},
		{"empty generated", []string{""}, false},
		{"duplicate header replaced", []string{"one", "two"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := echo.New()
			e.Use(httpx.RequestID())
			var seenHeader string
			e.GET("/", func(c echo.Context) error {
				seenHeader = c.Request().Header.Get("X-Request-ID")
				return c.String(http.StatusOK, httpx.RequestIDFrom(c.Request().Context()))
			})
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			for _, v := range tt.incoming {
				req.Header.Add("X-Request-ID", v)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)

			fromCtx := rec.Body.String()
			fromHeader := rec.Result().Header.Get("X-Request-ID")
			if fromCtx == "" || fromCtx != fromHeader {
				t.Fatalf("context id %q, response header %q: want equal and non-empty", fromCtx, fromHeader)
			}
			if seenHeader != fromCtx {
				t.Fatalf("request header seen by handler %q, want sanitized %q", seenHeader, fromCtx)
			}
			if tt.keep {
				if fromCtx != tt.incoming[0] {
					t.Fatalf("id = %q, want incoming %q kept", fromCtx, tt.incoming[0])
				}
				return
			}
			for _, in := range tt.incoming {
				if fromCtx == in {
					t.Fatalf("unsafe incoming id %q was kept", in)
				}
			}
			u, err := uuid.Parse(fromCtx)
			if err != nil || u.Version() != 7 {
				t.Fatalf("generated id %q is not a UUIDv7 (err %v)", fromCtx, err)
			}
		})
	}
}

func TestRequestIDUnique(t *testing.T) {
	e := echo.New()
	e.Use(httpx.RequestID())
	e.GET("/", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	seen := map[string]bool{}
	for range 50 {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		id := rec.Result().Header.Get("X-Request-ID")
		if seen[id] {
			t.Fatalf("duplicate generated id %q", id)
		}
		seen[id] = true
	}
}

func TestRequestIDFromAbsent(t *testing.T) {
	if got := httpx.RequestIDFrom(context.Background()); got != "" {
		t.Fatalf("RequestIDFrom(empty ctx) = %q, want empty", got)
	}
	ctx := httpx.WithRequestID(context.Background(), "job-1")
	if got := httpx.RequestIDFrom(ctx); got != "job-1" {
		t.Fatalf("RequestIDFrom = %q, want job-1", got)
	}
}

// The request facts that sessions, audit events and logs record come from
// the same middleware: the client address from Echo's IP extractor (the
// socket unless a trusted proxy forwarded the request) and a bounded user
// agent.
func TestRequestFacts(t *testing.T) {
	tests := []struct {
		name, remote, forwarded, ua string
		trustProxy                  bool
		wantIP, wantUA              string
	}{
		{name: "socket address", remote: "203.0.113.9:4000", ua: "curl/8", wantIP: "203.0.113.9", wantUA: "curl/8"},
		{name: "forwarded header from an untrusted peer ignored", remote: "203.0.113.9:4000", forwarded: "198.51.100.1",
			wantIP: "203.0.113.9"},
		{name: "forwarded header from a trusted proxy used", remote: "10.0.0.2:4000", forwarded: "198.51.100.1", trustProxy: true,
			wantIP: "198.51.100.1"},
		{name: "long user agent cut to 512 bytes", remote: "203.0.113.9:4000", ua: strings.Repeat("u", 2000),
			wantIP: "203.0.113.9", wantUA: strings.Repeat("u", 512)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := echo.New()
			e.IPExtractor = echo.ExtractIPDirect()
			if tt.trustProxy {
				_, proxies, _ := net.ParseCIDR("10.0.0.0/8")
				e.IPExtractor = echo.ExtractIPFromXFFHeader(echo.TrustIPRange(proxies))
			}
			e.Use(httpx.RequestID())
			var got reqinfo.Info
			e.GET("/", func(c echo.Context) error {
				got = reqinfo.From(c.Request().Context())
				return c.NoContent(http.StatusNoContent)
			})
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tt.remote
			req.Header.Set("User-Agent", tt.ua)
			if tt.forwarded != "" {
				req.Header.Set("X-Forwarded-For", tt.forwarded)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if got.IP != tt.wantIP || got.UserAgent != tt.wantUA || got.RequestID != rec.Header().Get("X-Request-ID") {
				t.Fatalf("facts = %+v, want ip %q, user agent of %d bytes, request id %q", got, tt.wantIP, len(tt.wantUA), rec.Header().Get("X-Request-ID"))
			}
		})
	}
}

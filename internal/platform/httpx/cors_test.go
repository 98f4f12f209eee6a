package httpx_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"secureapi/internal/platform/httpx"
)

const appOrigin = "https://app.example.com"

func TestCORS(t *testing.T) {
	type want struct {
		status       int
		acao         string
		credentials  bool
		allowMethods string
		exposes      bool
		handlerRan   bool
	}
	tests := []struct {
		name    string
		allowed []string
		method  string
		origin  string
		want    want
	}{
		{"allowed simple request", []string{appOrigin}, http.MethodGet, appOrigin,
			want{status: 200, acao: appOrigin, credentials: true, exposes: true, handlerRan: true}},
		{"denied origin", []string{appOrigin}, http.MethodGet, "https://evil.example",
			want{status: 200, handlerRan: true}},
		{"subdomain of allowed origin denied", []string{appOrigin}, http.MethodGet, "https://evil.app.example.com",
			want{status: 200, handlerRan: true}},
		{"allowed origin as prefix denied", []string{appOrigin}, http.MethodGet, appOrigin + ".evil.example",
			want{status: 200, handlerRan: true}},
		{"scheme mismatch denied", []string{appOrigin}, http.MethodGet, "http://app.example.com",
			want{status: 200, handlerRan: true}},
		{"null origin denied", []string{appOrigin}, http.MethodGet, "null",
			want{status: 200, handlerRan: true}},
		{"no origin", []string{appOrigin}, http.MethodGet, "",
			want{status: 200, handlerRan: true}},
		{"allowed preflight", []string{appOrigin}, http.MethodOptions, appOrigin,
			want{status: 204, acao: appOrigin, credentials: true, allowMethods: "GET,POST,PATCH,DELETE,OPTIONS"}},
		{"denied preflight", []string{appOrigin}, http.MethodOptions, "https://evil.example",
			want{status: 204}},
		{"empty list denies simple request", nil, http.MethodGet, appOrigin,
			want{status: 200, handlerRan: true}},
		{"empty list denies preflight", nil, http.MethodOptions, appOrigin,
			want{status: 204}},
		{"wildcard without credentials", []string{"*"}, http.MethodGet, "https://anyone.example",
			want{status: 200, acao: "*", exposes: true, handlerRan: true}},
		{"wildcard mixed with origins still no credentials", []string{appOrigin, "*"}, http.MethodGet, appOrigin,
			want{status: 200, acao: "*", exposes: true, handlerRan: true}},
		{"wildcard preflight without credentials", []string{"*"}, http.MethodOptions, "https://anyone.example",
			want{status: 204, acao: "*", allowMethods: "GET,POST,PATCH,DELETE,OPTIONS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := echo.New()
			e.Use(httpx.CORS(tt.allowed))
			ran := false
			e.GET("/r", func(c echo.Context) error { ran = true; return c.String(http.StatusOK, "ok") })
			e.POST("/r", func(c echo.Context) error { ran = true; return c.String(http.StatusOK, "ok") })

			req := httptest.NewRequest(tt.method, "/r", nil)
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			if tt.method == http.MethodOptions {
				req.Header.Set("Access-Control-Request-Method", http.MethodPost)
				req.Header.Set("Access-Control-Request-Headers", "content-type")
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			h := rec.Result().Header

			if rec.Code != tt.want.status {
				t.Fatalf("status = %d, want %d", rec.Code, tt.want.status)
			}
			if ran != tt.want.handlerRan {
				t.Fatalf("handler ran = %v, want %v", ran, tt.want.handlerRan)
			}
			if got := h.Values("Access-Control-Allow-Origin"); tt.want.acao == "" && len(got) != 0 ||
				tt.want.acao != "" && (len(got) != 1 || got[0] != tt.want.acao) {
				t.Fatalf("Access-Control-Allow-Origin = %q, want %q", got, tt.want.acao)
			}
			if got := h.Get("Access-Control-Allow-Credentials"); (got == "true") != tt.want.credentials {
				t.Fatalf("Access-Control-Allow-Credentials = %q, want credentials %v", got, tt.want.credentials)
			}
			if got := h.Get("Access-Control-Allow-Methods"); got != tt.want.allowMethods {
				t.Fatalf("Access-Control-Allow-Methods = %q, want %q", got, tt.want.allowMethods)
			}
			if tt.want.allowMethods != "" {
				if got := h.Get("Access-Control-Allow-Headers"); got != "Authorization,Content-Type,X-Request-ID" {
					t.Fatalf("Access-Control-Allow-Headers = %q", got)
				}
				if got := h.Get("Access-Control-Max-Age"); got != "600" {
					t.Fatalf("Access-Control-Max-Age = %q, want 600", got)
				}
			}
			expose := h.Get("Access-Control-Expose-Headers")
			if tt.want.exposes {
				for _, name := range []string{"X-Request-ID", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
					if !slices.Contains(strings.Split(expose, ","), name) {
						t.Fatalf("Access-Control-Expose-Headers = %q, missing %s", expose, name)
					}
				}
			} else if expose != "" {
				t.Fatalf("Access-Control-Expose-Headers = %q, want none", expose)
			}
			if !slices.Contains(h.Values("Vary"), "Origin") {
				t.Fatalf("Vary = %q, want Origin", h.Values("Vary"))
			}
		})
	}
}

func TestOriginAllowed(t *testing.T) {
	tests := []struct {
		name    string
		allowed []string
		origins []string
		want    bool
	}{
		{"absent", []string{appOrigin}, nil, true},
		{"absent with empty list", nil, nil, true},
		{"listed", []string{appOrigin}, []string{appOrigin}, true},
		{"not listed", []string{appOrigin}, []string{"https://evil.example"}, false},
		{"empty list refuses any origin", nil, []string{appOrigin}, false},
		{"case differs", []string{appOrigin}, []string{"https://APP.example.com"}, false},
		{"trailing slash differs", []string{appOrigin}, []string{appOrigin + "/"}, false},
		{"null", []string{appOrigin}, []string{"null"}, false},
		{"wildcard entry is not a wildcard", []string{"*"}, []string{"https://evil.example"}, false},
		{"literal star origin refused", []string{"*"}, []string{"*"}, false},
		{"two origin headers refused", []string{appOrigin}, []string{appOrigin, appOrigin}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/login", nil)
			for _, o := range tt.origins {
				req.Header.Add("Origin", o)
			}
			if got := httpx.OriginAllowed(req, tt.allowed); got != tt.want {
				t.Fatalf("OriginAllowed = %v, want %v", got, tt.want)
			}
		})
	}
}

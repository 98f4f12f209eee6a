package httpx_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"secureapi/internal/platform/httpx"
)

func TestRecover(t *testing.T) {
	tests := []struct {
		name  string
		panic any
	}{
		{"string", "boom: secret-detail"},
		{"error", errors.New("boom: secret-detail")},
		{"http error cannot choose its status", echo.NewHTTPError(http.StatusTeapot, "boom: secret-detail")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, buf := newJSONLogger()
			e := echo.New()
			e.Use(httpx.RequestID(), httpx.Recover(logger))
			e.GET("/panic", func(c echo.Context) error { panic(tt.panic) })

			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/panic", nil))

			if rec.Code != http.StatusInternalServerError {
				t.Fatalf("status = %d, want 500", rec.Code)
			}
			if strings.Contains(rec.Body.String(), "secret-detail") || strings.Contains(rec.Body.String(), "goroutine") {
				t.Fatalf("response leaks panic details: %q", rec.Body.String())
			}
			lines := logLines(t, buf)
			if len(lines) != 1 {
				t.Fatalf("got %d log lines, want 1: %s", len(lines), buf.String())
			}
			l := lines[0]
			if l["level"] != "ERROR" {
				t.Errorf("level = %v, want ERROR", l["level"])
			}
			if !strings.Contains(l["panic"].(string), "secret-detail") {
				t.Errorf("panic value not logged: %v", l["panic"])
			}
			if stack, _ := l["stack"].(string); !strings.Contains(stack, "goroutine") || !strings.Contains(stack, "logging_test.go") {
				t.Errorf("stack not logged: %q", stack)
			}
			if id := rec.Result().Header.Get("X-Request-ID"); id == "" || l["request_id"] != id {
				t.Errorf("request_id = %v, want %q", l["request_id"], id)
			}
		})
	}
}

func TestRecoverPassesErrorToHandler(t *testing.T) {
	logger, _ := newJSONLogger()
	e := echo.New()
	var got error
	e.HTTPErrorHandler = func(err error, c echo.Context) { got = err; _ = c.NoContent(599) }
	e.Use(httpx.Recover(logger))
	e.GET("/panic", func(c echo.Context) error { panic("boom") })
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/panic", nil))

	var he *echo.HTTPError
	if !errors.As(got, &he) || he.Code != http.StatusInternalServerError {
		t.Fatalf("error handler got %#v, want *echo.HTTPError 500", got)
	}
	if msg, _ := he.Message.(string); msg == "" || strings.Contains(msg, "boom") {
		t.Fatalf("message = %#v, want generic string", he.Message)
	}
	if rec.Code != 599 {
		t.Fatalf("status = %d: the app error handler did not write the response", rec.Code)
	}
}

func TestRecoverRepanicsAbortHandler(t *testing.T) {
	logger, buf := newJSONLogger()
	e := echo.New()
	e.Use(httpx.Recover(logger))
	e.GET("/abort", func(c echo.Context) error { panic(http.ErrAbortHandler) })

	var got any
	func() {
		defer func() { got = recover() }()
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/abort", nil))
	}()
	if got != http.ErrAbortHandler {
		t.Fatalf("recovered %v, want http.ErrAbortHandler re-panicked", got)
	}
	if buf.String() != "" {
		t.Fatalf("abort was logged: %s", buf.String())
	}
}

func TestAccessLog(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		target    string
		wantRoute string
		wantPath  string
		wantCode  int
		wantLevel string
	}{
		{"matched route", http.MethodGet, "/users/42?token=secret", "/users/:id", "/users/42", 200, "INFO"},
		{"unmatched", http.MethodGet, "/nope?token=secret", "unmatched", "/nope", 404, "INFO"},
		{"client error", http.MethodGet, "/conflict?token=secret", "/conflict", "/conflict", 409, "INFO"},
		{"server error", http.MethodGet, "/fail?token=secret", "/fail", "/fail", 500, "ERROR"},
		{"unavailable", http.MethodGet, "/busy?token=secret", "/busy", "/busy", 503, "ERROR"},
		{"panic", http.MethodGet, "/panic?token=secret", "/panic", "/panic", 500, "ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, buf := newJSONLogger()
			e := echo.New()
			e.IPExtractor = httpx.IPExtractor(prefixes(t, "10.0.0.0/8"))
			e.Use(httpx.RequestID(), httpx.AccessLog(logger), httpx.Recover(logger))
			e.GET("/users/:id", func(c echo.Context) error { return c.String(http.StatusOK, "hello") })
			e.GET("/conflict", func(c echo.Context) error { return echo.NewHTTPError(http.StatusConflict, "conflict") })
			e.GET("/fail", func(c echo.Context) error { return errors.New("db down") })
			e.GET("/busy", func(c echo.Context) error { return echo.NewHTTPError(http.StatusServiceUnavailable, "busy") })
			e.GET("/panic", func(c echo.Context) error { panic("boom") })

			req := httptest.NewRequest(tt.method, tt.target, nil)
			req.RemoteAddr = "10.0.0.1:4444"
			req.Header.Set("X-Forwarded-For", "198.51.100.23")
			req.Header.Set("Authorization", "Bearer secret-bearer")
			req.Header.Set("Cookie", "session=secret-cookie")
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)

			if rec.Code != tt.wantCode {
				t.Fatalf("status = %d, want %d", rec.Code, tt.wantCode)
			}
			raw := buf.String()
			for _, secret := range []string{"secret", "token"} {
				if strings.Contains(raw, secret) {
					t.Fatalf("log contains %q: %s", secret, raw)
				}
			}
			var access map[string]any
			for _, l := range logLines(t, buf) {
				if _, ok := l["duration_ms"]; ok {
					if access != nil {
						t.Fatalf("more than one access line: %s", raw)
					}
					access = l
				}
			}
			if access == nil {
				t.Fatalf("no access log line: %s", raw)
			}
			checks := map[string]any{
				"level":      tt.wantLevel,
				"method":     tt.method,
				"route":      tt.wantRoute,
				"path":       tt.wantPath,
				"status":     float64(tt.wantCode),
				"bytes_out":  float64(rec.Body.Len()),
				"ip":         "198.51.100.23",
				"request_id": rec.Result().Header.Get("X-Request-ID"),
			}
			for k, want := range checks {
				if access[k] != want {
					t.Errorf("%s = %#v, want %#v", k, access[k], want)
				}
			}
			if d, ok := access["duration_ms"].(float64); !ok || d < 0 {
				t.Errorf("duration_ms = %#v", access["duration_ms"])
			}
		})
	}
}

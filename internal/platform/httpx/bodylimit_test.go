package httpx_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"secureapi/internal/platform/httpx"
)

// onlyReader hides the concrete type of a reader so that httptest cannot
// infer a Content-Length, which is how chunked bodies arrive.
type onlyReader struct{ io.Reader }

func TestBodyLimit(t *testing.T) {
	const limit = 10
	tests := []struct {
		name          string
		path          string
		body          string
		chunked       bool
		contentLength int64 // overrides the declared length when non-zero
		wantStatus    int
		wantHandler   bool
		wantReadErr   bool // handler saw an error recognised by IsBodyTooLarge
	}{
		{name: "small body", path: "/read", body: "hello", wantStatus: 200, wantHandler: true},
		{name: "exactly limit", path: "/read", body: strings.Repeat("a", limit), wantStatus: 200, wantHandler: true},
		{name: "content-length too large", path: "/read", body: strings.Repeat("a", 100), wantStatus: 413},
		{name: "understated content-length still capped", path: "/read", body: strings.Repeat("a", 100), contentLength: 5, wantStatus: 413, wantHandler: true, wantReadErr: true},
		{name: "chunked within limit", path: "/read", body: "hello", chunked: true, wantStatus: 200, wantHandler: true},
		{name: "chunked over limit", path: "/read", body: strings.Repeat("a", 100), chunked: true, wantStatus: 413, wantHandler: true, wantReadErr: true},
		{name: "chunked over limit wrapped error", path: "/read-wrapped", body: strings.Repeat("a", 100), chunked: true, wantStatus: 413, wantHandler: true, wantReadErr: true},
		{name: "chunked over limit through echo bind", path: "/bind", body: `{"name":"` + strings.Repeat("a", 100) + `"}`, chunked: true, wantStatus: 413, wantHandler: true},
		{name: "bind within limit", path: "/bind", body: `{}`, chunked: true, wantStatus: 200, wantHandler: true},
		{name: "skipped route content-length", path: "/upload", body: strings.Repeat("a", 100), wantStatus: 200, wantHandler: true},
		{name: "skipped route chunked", path: "/upload", body: strings.Repeat("a", 100), chunked: true, wantStatus: 200, wantHandler: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := echo.New()
			e.Use(httpx.BodyLimit(limit, func(c echo.Context) bool { return c.Path() == "/upload" }))
			var ran, readErr bool
			read := func(c echo.Context) error {
				ran = true
				b, err := io.ReadAll(c.Request().Body)
				if err != nil {
					readErr = httpx.IsBodyTooLarge(err)
					return err
				}
				return c.String(http.StatusOK, fmt.Sprint(len(b)))
			}
			e.POST("/read", read)
			e.POST("/upload", read)
			e.POST("/read-wrapped", func(c echo.Context) error {
				ran = true
				_, err := io.ReadAll(c.Request().Body)
				if err != nil {
					readErr = httpx.IsBodyTooLarge(err)
					return fmt.Errorf("decode payload: %w", err)
				}
				return c.NoContent(http.StatusOK)
			})
			e.POST("/bind", func(c echo.Context) error {
				ran = true
				var v struct {
					Name string `json:"name"`
				}
				if err := c.Bind(&v); err != nil {
					return err
				}
				return c.NoContent(http.StatusOK)
			})

			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = onlyReader{body}
			}
			req := httptest.NewRequest(http.MethodPost, tt.path, body)
			req.Header.Set("Content-Type", "application/json")
			if tt.chunked {
				req.ContentLength = -1
			}
			if tt.contentLength != 0 {
				req.ContentLength = tt.contentLength
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)

			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %q)", rec.Code, tt.wantStatus, rec.Body.String())
			}
			if ran != tt.wantHandler {
				t.Fatalf("handler ran = %v, want %v", ran, tt.wantHandler)
			}
			if readErr != tt.wantReadErr {
				t.Fatalf("IsBodyTooLarge(read error) = %v, want %v", readErr, tt.wantReadErr)
			}
			if tt.wantStatus == 413 && !strings.Contains(rec.Body.String(), "request body too large") {
				t.Fatalf("body = %q, want the 413 message", rec.Body.String())
			}
		})
	}
}

func TestBodyLimitErrorShape(t *testing.T) {
	e := echo.New()
	e.Use(httpx.BodyLimit(4, nil))
	var got error
	e.HTTPErrorHandler = func(err error, c echo.Context) { got = err; _ = c.NoContent(http.StatusTeapot) }
	e.POST("/", func(c echo.Context) error {
		_, err := io.ReadAll(c.Request().Body)
		return err
	})
	req := httptest.NewRequest(http.MethodPost, "/", onlyReader{strings.NewReader("too long")})
	req.ContentLength = -1
	e.ServeHTTP(httptest.NewRecorder(), req)

	var he *echo.HTTPError
	if !errors.As(got, &he) || he.Code != http.StatusRequestEntityTooLarge || he.Message != "request body too large" {
		t.Fatalf("error = %#v, want *echo.HTTPError 413 with a client-safe message", got)
	}
	var mbe *http.MaxBytesError
	if !errors.As(he.Internal, &mbe) {
		t.Fatalf("Internal = %#v, want the *http.MaxBytesError", he.Internal)
	}
}

func TestIsBodyTooLarge(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"other", errors.New("boom"), false},
		{"max bytes", &http.MaxBytesError{Limit: 1}, true},
		{"wrapped max bytes", fmt.Errorf("x: %w", &http.MaxBytesError{Limit: 1}), true},
		{"http error 413", echo.NewHTTPError(http.StatusRequestEntityTooLarge, "request body too large"), true},
		{"http error 400 with internal max bytes", echo.NewHTTPError(http.StatusBadRequest, "bad").SetInternal(&http.MaxBytesError{Limit: 1}), true},
		{"http error 400", echo.NewHTTPError(http.StatusBadRequest, "bad"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := httpx.IsBodyTooLarge(tt.err); got != tt.want {
				t.Fatalf("IsBodyTooLarge = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBodyLimitRejectsNonPositive(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("BodyLimit(0) did not panic")
		}
	}()
	httpx.BodyLimit(0, nil)
}

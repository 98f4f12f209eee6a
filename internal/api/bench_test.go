package api_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"secureapi/internal/api/apitest"
	"secureapi/internal/testutil/testdb"
	"secureapi/internal/user"
)

// BenchmarkAuthenticatedRequest measures one GET /api/v1/users/me through the
// whole router, on SQLite and (with TEST_DATABASE_URL) PostgreSQL: middleware, rate limits, request validation, token
// verification, the per-request session check, the handler and JSON encoding.
func BenchmarkAuthenticatedRequest(b *testing.B) {
	for _, engine := range testdb.Engines() {
		b.Run(engine, func(b *testing.B) { benchAuthenticatedRequest(b, engine) })
	}
}

// benchLimits keep the rate limits on, so their work is measured, but far
// above what a benchmark sends: the test defaults refuse a fast router
// within a run of a few seconds.
var benchLimits = map[string]string{
	"RATE_LIMIT_IP_PER_MINUTE":   "1000000000",
	"RATE_LIMIT_USER_PER_MINUTE": "1000000000",
}

func benchAuthenticatedRequest(b *testing.B, engine string) {
	e := apitest.New(b, engine, benchLimits)
	tok := benchToken(b, e)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/users/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		e.App.Handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkAuthenticate measures the authentication step alone: EdDSA
// verification plus the session and account check in the database.
func BenchmarkAuthenticate(b *testing.B) {
	for _, engine := range testdb.Engines() {
		b.Run(engine, func(b *testing.B) { benchAuthenticate(b, engine) })
	}
}

func benchAuthenticate(b *testing.B, engine string) {
	e := apitest.New(b, engine, nil)
	tok := benchToken(b, e)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.App.Auth.Authenticate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func benchToken(b *testing.B, e *apitest.Env) string {
	b.Helper()
	return mkAccount(b, e, "bench", user.RoleUser).Token
}

// BenchmarkUpload1MiB measures one 1 MiB upload through the whole router:
// multipart parsing, content checks, SHA-256, the write and its fsyncs, and
// the database row with its audit event. Its CPU profile is where upload
// overhead shows; wall time mostly measures the disk's fsync.
func BenchmarkUpload1MiB(b *testing.B) {
	for _, engine := range testdb.Engines() {
		b.Run(engine, func(b *testing.B) { benchUpload(b, engine, 1<<20) })
	}
}

func benchUpload(b *testing.B, engine string, size int) {
	e := apitest.New(b, engine, map[string]string{"MAX_UPLOAD_BYTES": strconv.Itoa(2 * size), "UPLOAD_QUOTA_BYTES": "1099511627776"})
	tok := benchToken(b, e)
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	part, err := w.CreateFormFile("file", "bench.txt")
	if err != nil {
		b.Fatal(err)
	}
	line := []byte("the quick brown fox jumps over the lazy dog 0123456789\n")
	for n := 0; n < size; n += len(line) {
		part.Write(line[:min(len(line), size-n)])
	}
	w.Close()
	body := buf.Bytes()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/files", bytes.NewReader(body))
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		e.App.Handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

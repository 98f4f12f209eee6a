package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
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

func benchAuthenticatedRequest(b *testing.B, engine string) {
	e := apitest.New(b, engine, nil)
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

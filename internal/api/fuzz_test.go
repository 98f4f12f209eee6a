package api_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"secureapi/internal/api/apitest"
	"secureapi/internal/testutil/testdb"
)

// FuzzBadInputNeverFails sends arbitrary bodies and query strings through the
// real router, on SQLite and (with TEST_DATABASE_URL) PostgreSQL: whatever
// arrives, the answer is a success or a 4xx problem, never a 5xx and never
// internal text. `go test` runs the seeds;
// `go test -fuzz FuzzBadInputNeverFails ./internal/api/` explores further.
func FuzzBadInputNeverFails(f *testing.F) {
	for _, seed := range []struct{ route, body, query string }{
		{"register", `{"email":"a@example.com","username":"abc","password":"Aa345678"}`, ""},
		{"register", `{"email":"a@example.com","username":"abc","password":"Aa345678","role":"admin"}`, ""},
		{"login", `{"email":"a@example.com","password":"x"}`, ""},
		{"login", `{"email":["a"],"password":{"$ne":null}}`, ""},
		{"login", `{"email":"a@example.com","password":"` + strings.Repeat("A1", 600) + `"}`, ""},
		{"reset", `{"token":"'; DROP TABLE users; --","new_password":"Aa345678"}`, ""},
		{"forgot", `{"email":"\u0000@example.com"}`, ""},
		{"register", "\xff\xfe{", ""},
		{"users", "", "limit=0&cursor=%00"},
		{"users", "", "q=%25%27&role=root&is_active=maybe"},
		{"audit", "", "from=yesterday&actor=../../etc&cursor=-1"},
		{"sessions", "", ""},
		{"me", `{"display_name":"a\u0000b"}`, ""},
		{"me", `{"username":"a\u0000b"}`, ""},
		{"me", "{\"display_name\":\"a\xffb\"}", ""},
		{"users", "", "q=%00"},
		{"users", "", "q=a%00b&role=admin"},
		{"users", "", "q=%FF%FE"},
		{"register", `{"email":"z@example.com","username":"zed","password":"Aa345678","display_name":"\u0000"}`, ""},
		{"email", `{"new_email":"a\u0000@example.com","current_password":"x"}`, ""},
		{"confirm", `{"token":"\u0000"}`, ""},
		{"reset", `{"token":"a\u0000","new_password":"Aa345678"}`, ""},
	} {
		f.Add(seed.route, seed.body, seed.query)
	}
	type target struct {
		env   *apitest.Env
		admin apitest.Account
	}
	var targets []target
	for _, engine := range testdb.Engines() {
		if engine == "postgres" && os.Getenv("TEST_DATABASE_URL") == "" && os.Getenv("CI") != "true" {
			continue // apitest.New would skip the whole fuzz test
		}
		e := apitest.New(f, engine, nil)
		targets = append(targets, target{e, e.NewAccount(f, "fuzzadmin", true)})
	}
	routes := map[string][2]string{
		"register": {"POST", "/api/v1/auth/register"},
		"login":    {"POST", "/api/v1/auth/login"},
		"reset":    {"POST", "/api/v1/auth/password/reset"},
		"forgot":   {"POST", "/api/v1/auth/password/forgot"},
		"users":    {"GET", "/api/v1/users"},
		"audit":    {"GET", "/api/v1/audit-events"},
		"sessions": {"DELETE", "/api/v1/auth/sessions/"},
		"me":       {"PATCH", "/api/v1/users/me"},
		"email":    {"POST", "/api/v1/users/me/email"},
		"confirm":  {"POST", "/api/v1/users/me/email/confirm"},
	}
	f.Fuzz(func(t *testing.T, route, body, query string) {
		r, ok := routes[route]
		if !ok {
			r = routes["me"]
		}
		target := r[1]
		if route == "sessions" {
			target += url.PathEscape(query)
		} else {
			target += "?" + query
		}
		if _, err := url.ParseRequestURI(target); err != nil {
			return // not a request a client can send
		}
		for _, tg := range targets {
			req := httptest.NewRequest(r[0], "/", strings.NewReader(body))
			req.URL, _ = url.ParseRequestURI(target)
			req.RequestURI = target
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tg.admin.Token)
			rec := httptest.NewRecorder()
			tg.env.App.Handler.ServeHTTP(rec, req)
			check(t, tg.env.Engine, r[0], target, body, rec)
		}
	})
}

// check fails t when a fuzzed request got a 5xx, a non-problem error or an
// error that leaks internals.
func check(t *testing.T, engine, method, target, body string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s %s on %s with %q: %d %s", method, target, engine, body, rec.Code, rec.Body)
	}
	if rec.Code >= 400 {
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("%s %s on %s: %d with Content-Type %q", method, target, engine, rec.Code, ct)
		}
		for _, leak := range []string{"goroutine", "sql:", "SQLSTATE", "/work/", "runtime error"} {
			if strings.Contains(rec.Body.String(), leak) {
				t.Fatalf("%s %s on %s: body leaks %q: %s", method, target, engine, leak, rec.Body)
			}
		}
	}
	if rec.Code == http.StatusTooManyRequests {
		t.Skip("rate limited")
	}
}

package api_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"secureapi/internal/api/apitest"
)

// FuzzBadInputNeverFails sends arbitrary bodies and query strings through the
// real router: whatever arrives, the answer is a success or a 4xx problem,
// never a 5xx and never internal text. `go test` runs the seeds;
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
	} {
		f.Add(seed.route, seed.body, seed.query)
	}
	e := apitest.New(f, "sqlite", nil)
	admin := e.NewAccount(f, "fuzzadmin", true)
	routes := map[string][2]string{
		"register": {"POST", "/api/v1/auth/register"},
		"login":    {"POST", "/api/v1/auth/login"},
		"reset":    {"POST", "/api/v1/auth/password/reset"},
		"forgot":   {"POST", "/api/v1/auth/password/forgot"},
		"users":    {"GET", "/api/v1/users"},
		"audit":    {"GET", "/api/v1/audit-events"},
		"sessions": {"DELETE", "/api/v1/auth/sessions/"},
		"me":       {"PATCH", "/api/v1/users/me"},
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
		req := httptest.NewRequest(r[0], "/", strings.NewReader(body))
		req.URL, _ = url.ParseRequestURI(target)
		req.RequestURI = target
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+admin.Token)
		rec := httptest.NewRecorder()
		e.App.Handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s with %q: %d %s", r[0], target, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("%s %s: %d with Content-Type %q", r[0], target, rec.Code, ct)
			}
			for _, leak := range []string{"goroutine", "sql:", "SQLSTATE", "/work/", "runtime error"} {
				if strings.Contains(rec.Body.String(), leak) {
					t.Fatalf("%s %s: body leaks %q: %s", r[0], target, leak, rec.Body)
				}
			}
		}
		if rec.Code == http.StatusTooManyRequests {
			t.Skip("rate limited")
		}
	})
}

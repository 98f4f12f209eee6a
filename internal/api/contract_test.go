package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"secureapi/internal/api/apitest"
)

// Operations without a request body ignore one: they never answer 413 or
// 415 (not in their contract), and never read what was sent.
func TestBodyOnOperationWithoutOneIsIgnored(t *testing.T) {
	e := apitest.New(t, "sqlite", map[string]string{"MAX_BODY_BYTES": "1024"})
	alice := e.NewAccount(t, "alice", false)
	big := strings.Repeat("x", 4096)
	e.Run(t, []apitest.Scenario{
		{Name: "GET with a body over the limit", Request: apitest.Request{URL: "/api/v1/users/me", Token: alice.Token, Body: big},
			WantStatus: 200},
		{Name: "logout with a body over the limit", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/logout", Body: big},
			WantStatus: 204},
		{Name: "a body on an operation with one is still limited", Request: apitest.Request{Method: "PATCH", URL: "/api/v1/users/me", Token: alice.Token, Body: big},
			WantStatus: 413, WantProblem: "payload-too-large"},
	})
	t.Run("body of unknown length", func(t *testing.T) {
		r := apitest.NewHTTPRequest(t, apitest.Request{URL: "/api/v1/auth/sessions", Token: alice.Token})
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader([]byte(big)), strings.NewReader(big)))
		r.ContentLength = -1
		r.Header.Set("Content-Type", "text/html")
		if res := e.Serve(t, r); res.Status != http.StatusOK {
			t.Fatalf("status = %d: %s", res.Status, res.Body)
		}
	})
}

// A refused Host is a 400 on every operation but the probes, and declared so.
func TestUnknownHostIsADeclared400(t *testing.T) {
	e := apitest.New(t, "sqlite", map[string]string{"ALLOWED_HOSTS": "api.example.com"})
	for _, url := range []string{"/api/v1/users/me", "/api/v1/auth/sessions", "/.well-known/jwks.json"} {
		res := e.Do(t, apitest.Request{URL: "http://evil.example" + url})
		if res.Status != http.StatusBadRequest {
			t.Fatalf("%s from an unknown host = %d", url, res.Status)
		}
		apitest.AssertProblem(t, res, "bad-request")
	}
	res := e.Do(t, apitest.Request{Method: "POST", URL: "http://evil.example/api/v1/auth/refresh"})
	if res.Status != http.StatusBadRequest {
		t.Fatalf("refresh from an unknown host = %d", res.Status)
	}
}

// A failure the server did not expect is a bare 500 problem, declared on the
// operation like every other answer.
func TestUnexpectedFailureIsADeclared500(t *testing.T) {
	apitest.Each(t, nil, func(t *testing.T, e *apitest.Env) {
		alice := e.NewAccount(t, "alice", false)
		e.App.DB.Close()
		res := e.Do(t, apitest.Request{URL: "/api/v1/files", Token: alice.Token})
		if res.Status != http.StatusInternalServerError {
			t.Fatalf("status = %d: %s", res.Status, res.Body)
		}
		apitest.AssertProblem(t, res, "internal")
	})
}

// A body of many unknown fields lists the first 50 (the spec's maxItems) and
// counts them all, so the answer never outgrows the request.
func TestFieldErrorsAreCapped(t *testing.T) {
	e := apitest.New(t, "sqlite", nil)
	alice := e.NewAccount(t, "alice", false)
	body := map[string]string{}
	for i := range 200 {
		body[fmt.Sprintf("f%03d", i)] = "x"
	}
	res := e.Do(t, apitest.Request{Method: "PATCH", URL: "/api/v1/users/me", Token: alice.Token, Body: body})
	p := apitest.AssertProblem(t, res, "validation")
	if n := len(p["errors"].([]any)); n != 50 {
		t.Errorf("%d field errors listed, want 50", n)
	}
	if d := p["detail"].(string); !strings.Contains(d, "200") {
		t.Errorf("detail %q does not count every field", d)
	}
}

package apitest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Each check of CheckContract must fail on what it is there to catch, and
// pass a response that keeps the contract.
func TestCheckContract(t *testing.T) {
	const user = `{"id":"0192f6a4-6a8e-7cc1-9a55-3f7c2d6e8b10","email":"alice@example.com","username":"alice",` +
		`"display_name":null,"email_verified_at":null,"role":"user","is_active":true,"created_at":"2026-01-02T15:04:05Z","updated_at":"2026-01-02T15:04:05Z"}`
	headers := func(extra ...string) http.Header {
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set("X-Request-ID", "0192f6a4-6a8e-7cc1-9a55-3f7c2d6e8b10")
		h.Set("Cache-Control", "no-store")
		h.Set("RateLimit-Limit", "100")
		h.Set("Date", "Mon, 02 Jan 2026 15:04:05 GMT")
		h.Set("X-Frame-Options", "DENY")
		for i := 0; i+1 < len(extra); i += 2 {
			if extra[i+1] == "" {
				h.Del(extra[i])
			} else {
				h.Set(extra[i], extra[i+1])
			}
		}
		return h
	}
	me := func() *http.Request { return httptest.NewRequest(http.MethodGet, "/api/v1/users/me", nil) }

	for _, tc := range []struct {
		name    string
		req     *http.Request
		res     Response
		wantErr string // "" when the response keeps the contract
	}{
		{"declared response", me(), Response{Status: 200, Header: headers(), Body: []byte(user)}, ""},
		{"declared error", me(), Response{Status: 401, Header: headers("Content-Type", "application/problem+json", "WWW-Authenticate", `Bearer realm="api"`),
			Body: []byte(`{"type":"/problems/unauthorized","title":"Unauthorized","status":401}`)}, ""},
		{"undeclared status", me(), Response{Status: 418, Header: headers(), Body: []byte(user)},
			"status 418 is not declared"},
		{"304 is not exempt", me(), Response{Status: 304, Header: headers("Content-Type", "")},
			"status 304 is not declared"},
		{"undeclared header", me(), Response{Status: 200, Header: headers("X-Debug", "1"), Body: []byte(user)},
			"header X-Debug is not declared"},
		{"header declared on another response only", me(), Response{Status: 200, Header: headers("WWW-Authenticate", "Bearer"), Body: []byte(user)},
			"header Www-Authenticate is not declared"},
		{"declared header with a value off its schema", me(), Response{Status: 200, Header: headers("RateLimit-Limit", "many"), Body: []byte(user)},
			"RateLimit-Limit"},
		{"undeclared media type", me(), Response{Status: 200, Header: headers("Content-Type", "text/html; charset=utf-8"), Body: []byte(user)},
			"media type text/html is not declared"},
		{"body on a response without content", httptest.NewRequest(http.MethodDelete, "/api/v1/files/0192f6a4-6a8e-7cc1-9a55-3f7c2d6e8b10", nil),
			Response{Status: 204, Header: headers(), Body: []byte(`{}`)}, "declares no content"},
		{"undeclared body field", me(), Response{Status: 200, Header: headers(), Body: []byte(strings.Replace(user, `{`, `{"password_hash":"x",`, 1))},
			"body field password_hash is not declared"},
		{"undeclared nested field", httptest.NewRequest(http.MethodGet, "/api/v1/files", nil),
			Response{Status: 200, Header: headers(), Body: []byte(`{"next_cursor":null,"items":[{"id":"0192f6a4-6a8e-7cc1-9a55-3f7c2d6e8b10",` +
				`"filename":"a.txt","content_type":"text/plain","size":1,"sha256":"ab","created_at":"2026-01-02T15:04:05Z","storage_key":"k"}]}`)},
			"body field items[0].storage_key is not declared"},
		{"body off its schema", me(), Response{Status: 200, Header: headers(), Body: []byte(`{"id":"x"}`)},
			"doesn't match schema"},
		{"routes outside the spec are not checked", httptest.NewRequest(http.MethodGet, "/docs/", nil),
			Response{Status: 200, Header: headers("Content-Type", "text/html", "X-Debug", "1"), Body: []byte("<html>")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckContract(tc.req, &tc.res)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected contract error: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("no contract error, want one containing %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("error %q does not contain %q", err, tc.wantErr)
			}
		})
	}
}

// An additionalProperties: true schema (audit event details) stays open.
func TestUndeclaredFieldsRespectsOpenObjects(t *testing.T) {
	doc, _, err := Spec()
	if err != nil {
		t.Fatal(err)
	}
	s := doc.Components.Schemas["AuditEvent"].Value
	v := map[string]any{"details": map[string]any{"anything": 1}, "extra": 1}
	got := undeclaredFields(s, v, "")
	if len(got) != 1 || got[0] != "extra" {
		t.Fatalf("undeclared = %v, want [extra]", got)
	}
}

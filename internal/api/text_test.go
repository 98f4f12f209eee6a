package api_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"secureapi/internal/api/apitest"
	"secureapi/internal/user"
)

// Control characters and invalid UTF-8 are a 400 naming the field on both
// engines (PostgreSQL used to answer a NUL with a 500; SQLite stored it).
func TestTextInputIsPlainText(t *testing.T) {
	apitest.Each(t, nil, func(t *testing.T, e *apitest.Env) {
		root := mkAccount(t, e, "root", user.RoleAdmin)
		alice := mkAccount(t, e, "alice", user.RoleUser)
		patch := func(body any) apitest.Request {
			return apitest.Request{Method: "PATCH", URL: "/api/v1/users/me", Token: alice.Token, Body: body}
		}
		field := func(location, name, message string) func(*testing.T, *apitest.Response) {
			return func(t *testing.T, res *apitest.Response) {
				t.Helper()
				errs, _ := res.JSON(t)["errors"].([]any)
				for _, x := range errs {
					fe := x.(map[string]any)
					if fe["location"] == location && fe["field"] == name && fe["message"] == message {
						return
					}
				}
				t.Errorf("no %s error for %q saying %q: %s", location, name, message, res.Body)
			}
		}
		e.Run(t, []apitest.Scenario{
			{Name: "NUL in a display name", Request: patch(map[string]any{"display_name": "Al\x00ice"}),
				WantStatus: 400, WantProblem: "validation", Check: field("body", "display_name", "must not contain control characters")},
			{Name: "a tab in a display name", Request: patch(map[string]any{"display_name": "Al\tice"}),
				WantStatus: 400, WantProblem: "validation", Check: field("body", "display_name", "must not contain control characters")},
			{Name: "invalid UTF-8 in a display name", Request: patch(`{"display_name":"Al` + "\xff" + `ice"}`),
				WantStatus: 400, WantProblem: "validation", Check: field("body", "display_name", "must be valid UTF-8")},
			{Name: "NUL in a username (its pattern refuses it first)", Request: patch(map[string]any{"username": "ali\x00ce"}),
				WantStatus: 400, WantProblem: "validation", Check: func(t *testing.T, res *apitest.Response) {
					hasFieldError(t, res, "body", "username")
				}},
			{Name: "NUL in a registration", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/register",
				Body: map[string]any{"email": "zoe@example.com", "username": "zoe", "password": apitest.Password, "display_name": "Zo\x00e"}},
				WantStatus: 400, WantProblem: "validation", Check: field("body", "display_name", "must not contain control characters")},
			{Name: "NUL in the admin search", Request: apitest.Request{URL: "/api/v1/users?q=%00", Token: root.Token},
				WantStatus: 400, WantProblem: "validation", Check: field("query", "q", "must not contain control characters")},
			{Name: "invalid UTF-8 in the admin search", Request: apitest.Request{URL: "/api/v1/users?q=%FF", Token: root.Token},
				WantStatus: 400, WantProblem: "validation", Check: field("query", "q", "must be valid UTF-8")},
			{Name: "a NUL in a login email", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/login",
				Body: map[string]any{"email": "alice\x00@example.com", "password": apitest.Password}},
				WantStatus: 400, WantProblem: "validation"},
			{Name: "data after the JSON value", Request: patch(`{"display_name":"Eve"} xyz`),
				WantStatus: 400, WantProblem: "validation", Check: field("body", "", "the body must be exactly one JSON value")},
			{Name: "an unknown field with a very long name", Request: patch(map[string]any{strings.Repeat("k", 5000): 1}),
				WantStatus: 400, WantProblem: "validation", Check: func(t *testing.T, res *apitest.Response) {
					f := res.JSON(t)["errors"].([]any)[0].(map[string]any)["field"].(string)
					if n := utf8.RuneCountInString(f); n > 200 || !strings.HasPrefix(f, "kkk") {
						t.Errorf("field name of %d characters: %.40q", n, f)
					}
				}},
			{Name: "two JSON values", Request: patch(`{"display_name":"Eve"}{"display_name":"Mallory"}`),
				WantStatus: 400, WantProblem: "validation", Check: field("body", "", "the body must be exactly one JSON value")},
			{Name: "nothing was stored", Request: apitest.Request{URL: "/api/v1/users/me", Token: alice.Token},
				WantStatus: 200, Check: func(t *testing.T, res *apitest.Response) {
					if m := res.JSON(t); m["display_name"] != nil || m["username"] != "alice" {
						t.Errorf("me = %s", res.Body)
					}
				}},
			{Name: "any other text is welcome", Request: patch(map[string]any{"display_name": "Zoë \u00e9\u4e2d 👋 \u2028"}),
				WantStatus: 200},
			{Name: "and searchable", Request: apitest.Request{URL: "/api/v1/users?q=%C3%AB", Token: root.Token}, WantStatus: 200},
		})
	})
}

package api_test

import (
	"testing"

	"secureapi/internal/api/apitest"
	"secureapi/internal/user"
)

// The validator finds the operation from Echo's own route match; these are
// the edges where a second router could have disagreed with Echo.
func TestValidatorFollowsTheRouteEchoMatched(t *testing.T) {
	apitest.Each(t, nil, func(t *testing.T, e *apitest.Env) {
		alice := mkAccount(t, e, "alice", user.RoleUser)
		fieldIs := func(loc, field string) func(*testing.T, *apitest.Response) {
			return func(t *testing.T, res *apitest.Response) {
				fe := res.JSON(t)["errors"].([]any)[0].(map[string]any)
				if fe["location"] != loc || fe["field"] != field {
					t.Fatalf("errors = %v, want %s %s", fe, loc, field)
				}
			}
		}
		e.Run(t, []apitest.Scenario{
			{Name: "static route wins over the template", Request: apitest.Request{URL: "/api/v1/users/me", Token: alice.Token},
				WantStatus: 200},
			{Name: "path parameter is checked after percent-decoding", Request: apitest.Request{URL: "/api/v1/files/not%2Da%2Duuid", Token: alice.Token},
				WantStatus: 400, WantProblem: "validation", Check: fieldIs("path", "id")},
			{Name: "encoded slash stays inside the parameter", Request: apitest.Request{URL: "/api/v1/files/a%2Fb/content", Token: alice.Token},
				WantStatus: 400, WantProblem: "validation", Check: fieldIs("path", "id")},
			{Name: "empty path segment names nothing", Request: apitest.Request{URL: "/api/v1/files//content", Token: alice.Token},
				WantStatus: 404, WantProblem: "not-found"},
			{Name: "unknown path under the API", Request: apitest.Request{URL: "/api/v1/nope", Token: alice.Token},
				WantStatus: 404, WantProblem: "not-found"},
			{Name: "HEAD of a GET operation is not declared", Request: apitest.Request{Method: "HEAD", URL: "/api/v1/users/me", Token: alice.Token},
				WantStatus: 405},
			{Name: "query parameter of an operation without a body", Request: apitest.Request{URL: "/api/v1/files?limit=0", Token: alice.Token},
				WantStatus: 400, WantProblem: "validation", Check: fieldIs("query", "limit")},
			{Name: "security runs before parameters", Request: apitest.Request{URL: "/api/v1/files?limit=0"},
				WantStatus: 401, WantProblem: "unauthorized"},
		})
	})
}

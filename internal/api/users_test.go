package api_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"

	"secureapi/internal/api/apitest"
	"secureapi/internal/user"
)

const acctPassword = apitest.Password

// mkAccount creates an account (an admin for user.RoleAdmin) and logs it in once.
func mkAccount(t testing.TB, e *apitest.Env, name string, role user.Role) apitest.Account {
	t.Helper()
	return e.NewAccount(t, name, role == user.RoleAdmin)
}

func TestUsersMe(t *testing.T) {
	apitest.Each(t, nil, func(t *testing.T, e *apitest.Env) {
		alice := mkAccount(t, e, "alice", user.RoleUser)
		mkAccount(t, e, "bob", user.RoleUser)
		e.Run(t, []apitest.Scenario{
			{Name: "anonymous gets 401", Request: apitest.Request{URL: "/api/v1/users/me"},
				WantStatus: 401, WantProblem: "unauthorized"},
			{Name: "me", Request: apitest.Request{URL: "/api/v1/users/me", Token: alice.Token},
				WantStatus: 200, Check: func(t *testing.T, res *apitest.Response) {
					m := res.JSON(t)
					if m["id"] != alice.ID || m["username"] != "alice" || m["role"] != "user" || m["is_active"] != true {
						t.Errorf("me = %v", m)
					}
					if _, ok := m["password_hash"]; ok {
						t.Error("the password hash is exposed")
					}
				}},
			{Name: "profile change is normalized", Request: apitest.Request{Method: "PATCH", URL: "/api/v1/users/me", Token: alice.Token,
				Body: map[string]any{"display_name": "Alice L.", "username": "Alice_L"}},
				WantStatus: 200, Check: func(t *testing.T, res *apitest.Response) {
					m := res.JSON(t)
					if m["username"] != "alice_l" || m["email"] != "alice@example.com" || m["display_name"] != "Alice L." {
						t.Errorf("updated = %v", m)
					}
				}},
			{Name: "the address is not a profile field", Request: apitest.Request{Method: "PATCH", URL: "/api/v1/users/me", Token: alice.Token,
				Body: map[string]any{"email": "mallory@example.com"}},
				WantStatus: 400, WantProblem: "validation", Check: func(t *testing.T, res *apitest.Response) {
					hasFieldError(t, res, "body", "email")
				}},
			{Name: "role cannot be set on oneself", Request: apitest.Request{Method: "PATCH", URL: "/api/v1/users/me", Token: alice.Token,
				Body: map[string]any{"role": "admin"}},
				WantStatus: 400, WantProblem: "validation", Check: func(t *testing.T, res *apitest.Response) {
					hasFieldError(t, res, "body", "role")
				}},
			{Name: "activation cannot be set on oneself", Request: apitest.Request{Method: "PATCH", URL: "/api/v1/users/me", Token: alice.Token,
				Body: map[string]any{"is_active": true}},
				WantStatus: 400, WantProblem: "validation"},
			{Name: "taken username is a conflict", Request: apitest.Request{Method: "PATCH", URL: "/api/v1/users/me", Token: alice.Token,
				Body: map[string]any{"username": "BOB"}},
				WantStatus: 409, WantProblem: "conflict"},
			{Name: "still a user", Request: apitest.Request{URL: "/api/v1/users/me", Token: alice.Token},
				WantStatus: 200, Check: func(t *testing.T, res *apitest.Response) {
					if m := res.JSON(t); m["role"] != "user" {
						t.Errorf("role = %v", m["role"])
					}
				}},
		})
	})
}

func hasFieldError(t *testing.T, res *apitest.Response, location, field string) {
	t.Helper()
	errs, _ := res.JSON(t)["errors"].([]any)
	for _, e := range errs {
		fe := e.(map[string]any)
		if fe["location"] == location && fe["field"] == field {
			return
		}
	}
	t.Errorf("no %s field error for %q: %s", location, field, res.Body)
}

func TestChangePasswordRevokesOtherSessions(t *testing.T) {
	apitest.Each(t, nil, func(t *testing.T, e *apitest.Env) {
		alice := mkAccount(t, e, "alice", user.RoleUser)
		laptop := e.NewSession(t, alice.ID)
		change := func(current, next string) apitest.Request {
			return apitest.Request{Method: "POST", URL: "/api/v1/users/me/password", Token: alice.Token,
				Body: map[string]any{"current_password": current, "new_password": next}}
		}
		e.Run(t, []apitest.Scenario{
			{Name: "wrong current password is 403", Request: change("Wrong-Horse-9", "New-Horse-10"),
				WantStatus: 403, WantProblem: "forbidden"},
			{Name: "weak new password names the rule", Request: change(acctPassword, "alllowercase1"),
				WantStatus: 400, WantProblem: "validation", Check: func(t *testing.T, res *apitest.Response) {
					hasFieldError(t, res, "body", "new_password")
				}},
			{Name: "other session still works after failures", Request: apitest.Request{URL: "/api/v1/users/me", Token: laptop},
				WantStatus: 200},
			{Name: "change", Request: change(acctPassword, "New-Horse-10"), WantStatus: 204},
			{Name: "current session keeps working", Request: apitest.Request{URL: "/api/v1/users/me", Token: alice.Token},
				WantStatus: 200},
			{Name: "other session is revoked at once", Request: apitest.Request{URL: "/api/v1/users/me", Token: laptop},
				WantStatus: 401, WantProblem: "unauthorized"},
			{Name: "old password no longer accepted", Request: change(acctPassword, "Other-Horse-11"),
				WantStatus: 403},
		})
	})
}

func TestDeleteMe(t *testing.T) {
	apitest.Each(t, nil, func(t *testing.T, e *apitest.Env) {
		alice := mkAccount(t, e, "alice", user.RoleUser)
		del := func(pw string) apitest.Request {
			return apitest.Request{Method: "DELETE", URL: "/api/v1/users/me", Token: alice.Token, Body: map[string]any{"password": pw}}
		}
		e.Run(t, []apitest.Scenario{
			{Name: "wrong password is 403", Request: del("Wrong-Horse-9"), WantStatus: 403, WantProblem: "forbidden"},
			{Name: "body is required", Request: apitest.Request{Method: "DELETE", URL: "/api/v1/users/me", Token: alice.Token, Body: map[string]any{}},
				WantStatus: 400, WantProblem: "validation"},
			{Name: "still there", Request: apitest.Request{URL: "/api/v1/users/me", Token: alice.Token}, WantStatus: 200},
			{Name: "delete", Request: del(acctPassword), WantStatus: 204},
			{Name: "token of a deleted testAccount is refused", Request: apitest.Request{URL: "/api/v1/users/me", Token: alice.Token},
				WantStatus: 401, WantProblem: "unauthorized"},
		})
	})
}

func TestAdminRoutesNeedAdmin(t *testing.T) {
	apitest.Each(t, nil, func(t *testing.T, e *apitest.Env) {
		mkAccount(t, e, "root", user.RoleAdmin)
		alice := mkAccount(t, e, "alice", user.RoleUser)
		bob := mkAccount(t, e, "bob", user.RoleUser)
		bobURL := "/api/v1/users/" + bob.ID
		e.Run(t, []apitest.Scenario{
			{Name: "list", Request: apitest.Request{URL: "/api/v1/users", Token: alice.Token}, WantStatus: 403, WantProblem: "forbidden"},
			{Name: "get", Request: apitest.Request{URL: bobURL, Token: alice.Token}, WantStatus: 403, WantProblem: "forbidden"},
			{Name: "update", Request: apitest.Request{Method: "PATCH", URL: bobURL, Token: alice.Token, Body: map[string]any{"is_active": false}},
				WantStatus: 403, WantProblem: "forbidden"},
			{Name: "promote self", Request: apitest.Request{Method: "PATCH", URL: "/api/v1/users/" + alice.ID, Token: alice.Token, Body: map[string]any{"role": "admin"}},
				WantStatus: 403, WantProblem: "forbidden"},
			{Name: "delete", Request: apitest.Request{Method: "DELETE", URL: bobURL, Token: alice.Token}, WantStatus: 403, WantProblem: "forbidden"},
			{Name: "audit", Request: apitest.Request{URL: "/api/v1/audit-events", Token: alice.Token}, WantStatus: 403, WantProblem: "forbidden"},
			{Name: "bob untouched", Request: apitest.Request{URL: "/api/v1/users/me", Token: bob.Token}, WantStatus: 200},
		})
	})
}

func TestAdminManagesUsers(t *testing.T) {
	apitest.Each(t, nil, func(t *testing.T, e *apitest.Env) {
		root := mkAccount(t, e, "root", user.RoleAdmin)
		alice := mkAccount(t, e, "alice", user.RoleUser)
		bob := mkAccount(t, e, "bob", user.RoleUser)
		unknown := "/api/v1/users/" + uuid.Must(uuid.NewV7()).String()
		aliceURL := "/api/v1/users/" + alice.ID
		e.Run(t, []apitest.Scenario{
			{Name: "unknown id get", Request: apitest.Request{URL: unknown, Token: root.Token}, WantStatus: 404, WantProblem: "not-found"},
			{Name: "unknown id update", Request: apitest.Request{Method: "PATCH", URL: unknown, Token: root.Token, Body: map[string]any{"display_name": "X"}},
				WantStatus: 404, WantProblem: "not-found"},
			{Name: "unknown id delete", Request: apitest.Request{Method: "DELETE", URL: unknown, Token: root.Token}, WantStatus: 404, WantProblem: "not-found"},
			{Name: "malformed id", Request: apitest.Request{URL: "/api/v1/users/not-a-uuid", Token: root.Token}, WantStatus: 400, WantProblem: "validation"},
			{Name: "get", Request: apitest.Request{URL: aliceURL, Token: root.Token}, WantStatus: 200,
				Check: func(t *testing.T, res *apitest.Response) {
					if res.JSON(t)["username"] != "alice" {
						t.Errorf("got %s", res.Body)
					}
				}},
			{Name: "alice works before", Request: apitest.Request{URL: "/api/v1/users/me", Token: alice.Token}, WantStatus: 200},
			{Name: "deactivate", Request: apitest.Request{Method: "PATCH", URL: aliceURL, Token: root.Token, Body: map[string]any{"is_active": false}},
				WantStatus: 200, Check: func(t *testing.T, res *apitest.Response) {
					if res.JSON(t)["is_active"] != false {
						t.Errorf("got %s", res.Body)
					}
				}},
			{Name: "deactivated token is refused at once", Request: apitest.Request{URL: "/api/v1/users/me", Token: alice.Token},
				WantStatus: 401, WantProblem: "unauthorized"},
			{Name: "own role cannot change", Request: apitest.Request{Method: "PATCH", URL: "/api/v1/users/" + root.ID, Token: root.Token, Body: map[string]any{"role": "user"}},
				WantStatus: 403, WantProblem: "forbidden"},
			{Name: "own activation cannot change", Request: apitest.Request{Method: "PATCH", URL: "/api/v1/users/" + root.ID, Token: root.Token, Body: map[string]any{"is_active": false}},
				WantStatus: 403, WantProblem: "forbidden"},
			{Name: "own display name can", Request: apitest.Request{Method: "PATCH", URL: "/api/v1/users/" + root.ID, Token: root.Token, Body: map[string]any{"display_name": "Root"}},
				WantStatus: 200},
			{Name: "promote bob", Request: apitest.Request{Method: "PATCH", URL: "/api/v1/users/" + bob.ID, Token: root.Token, Body: map[string]any{"role": "admin"}},
				WantStatus: 200},
			{Name: "bob is admin now", Request: apitest.Request{URL: "/api/v1/users", Token: bob.Token}, WantStatus: 200},
			{Name: "delete self through admin route", Request: apitest.Request{Method: "DELETE", URL: "/api/v1/users/" + root.ID, Token: root.Token},
				WantStatus: 403, WantProblem: "forbidden"},
			{Name: "delete alice", Request: apitest.Request{Method: "DELETE", URL: aliceURL, Token: root.Token}, WantStatus: 204},
			{Name: "alice is gone", Request: apitest.Request{URL: aliceURL, Token: root.Token}, WantStatus: 404},
		})
	})
}

func TestListUsersPagination(t *testing.T) {
	apitest.Each(t, nil, func(t *testing.T, e *apitest.Env) {
		root := mkAccount(t, e, "root", user.RoleAdmin)
		var ids []string
		for _, n := range []string{"ann", "ben", "cat"} {
			ids = append(ids, mkAccount(t, e, n, user.RoleUser).ID)
		}
		var page1 apiUserList
		res := e.Do(t, apitest.Request{URL: "/api/v1/users?role=user&limit=2", Token: root.Token})
		if res.Status != http.StatusOK {
			t.Fatalf("page 1: %d %s", res.Status, res.Body)
		}
		res.Decode(t, &page1)
		if len(page1.Items) != 2 || page1.Items[0].ID != ids[2] || page1.Items[1].ID != ids[1] || page1.NextCursor == nil {
			t.Fatalf("page 1 = %s", res.Body)
		}
		var page2 apiUserList
		res = e.Do(t, apitest.Request{URL: "/api/v1/users?role=user&limit=2&cursor=" + *page1.NextCursor, Token: root.Token})
		res.Decode(t, &page2)
		if res.Status != http.StatusOK || len(page2.Items) != 1 || page2.Items[0].ID != ids[0] || page2.NextCursor != nil {
			t.Fatalf("page 2 = %d %s", res.Status, res.Body)
		}

		e.Run(t, []apitest.Scenario{
			{Name: "invalid cursor", Request: apitest.Request{URL: "/api/v1/users?cursor=abc", Token: root.Token},
				WantStatus: 400, WantProblem: "validation", Check: func(t *testing.T, res *apitest.Response) {
					hasFieldError(t, res, "query", "cursor")
				}},
			{Name: "limit above 100", Request: apitest.Request{URL: "/api/v1/users?limit=101", Token: root.Token},
				WantStatus: 400, WantProblem: "validation"},
			{Name: "search", Request: apitest.Request{URL: "/api/v1/users?q=BE", Token: root.Token},
				WantStatus: 200, Check: func(t *testing.T, res *apitest.Response) {
					var l apiUserList
					res.Decode(t, &l)
					if len(l.Items) != 1 || l.Items[0].ID != ids[1] {
						t.Errorf("q=BE: %s", res.Body)
					}
				}},
			{Name: "inactive filter", Request: apitest.Request{URL: "/api/v1/users?is_active=false", Token: root.Token},
				WantStatus: 200, Check: func(t *testing.T, res *apitest.Response) {
					var l apiUserList
					res.Decode(t, &l)
					if len(l.Items) != 0 {
						t.Errorf("is_active=false: %s", res.Body)
					}
				}},
		})
	})
}

type apiUserList struct {
	Items []struct {
		ID string `json:"id"`
	} `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

package api_test

import (
	"net/url"
	"strconv"
	"testing"

	"secureapi/internal/api/apitest"
	"secureapi/internal/user"
)

type apiAuditList struct {
	Items []struct {
		Seq     int64          `json:"seq"`
		ActorID *string        `json:"actor_id"`
		Action  string         `json:"action"`
		Target  *string        `json:"target_id"`
		Details map[string]any `json:"details"`
		Hash    string         `json:"hash"`
	} `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func TestListAuditEvents(t *testing.T) {
	apitest.Each(t, nil, func(t *testing.T, e *apitest.Env) {
		root := mkAccount(t, e, "root", user.RoleAdmin)
		alice := mkAccount(t, e, "alice", user.RoleUser)
		bob := mkAccount(t, e, "bob", user.RoleUser)

		// Events by two actors: alice changes her profile, root deactivates bob.
		for _, r := range []apitest.Request{
			{Method: "PATCH", URL: "/api/v1/users/me", Token: alice.Token, Body: map[string]any{"display_name": "Alice"}},
			{Method: "PATCH", URL: "/api/v1/users/me", Token: alice.Token, Body: map[string]any{"username": "alice2"}},
			{Method: "PATCH", URL: "/api/v1/users/" + bob.ID, Token: root.Token, Body: map[string]any{"is_active": false}},
		} {
			if res := e.Do(t, r); res.Status != 200 {
				t.Fatalf("%s %s: %d %s", r.Method, r.URL, res.Status, res.Body)
			}
		}

		list := func(t *testing.T, query url.Values) apiAuditList {
			t.Helper()
			res := e.Do(t, apitest.Request{URL: "/api/v1/audit-events?" + query.Encode(), Token: root.Token})
			if res.Status != 200 {
				t.Fatalf("list %v: %d %s", query, res.Status, res.Body)
			}
			var l apiAuditList
			res.Decode(t, &l)
			return l
		}

		t.Run("by action", func(t *testing.T) {
			l := list(t, url.Values{"action": {"user.deactivated"}})
			if len(l.Items) != 1 || *l.Items[0].ActorID != root.ID || *l.Items[0].Target != bob.ID {
				t.Fatalf("items = %+v", l.Items)
			}
			if l.Items[0].Details["revoked_sessions"] != float64(1) || l.Items[0].Hash == "" {
				t.Errorf("details = %v", l.Items[0].Details)
			}
		})
		t.Run("by actor", func(t *testing.T) {
			// alice's registration and login are hers too; her two profile changes are the newest.
			l := list(t, url.Values{"actor": {alice.ID}, "limit": {"2"}})
			if len(l.Items) != 2 {
				t.Fatalf("items = %+v", l.Items)
			}
			for _, it := range l.Items {
				if *it.ActorID != alice.ID || it.Action != user.ActionUpdated {
					t.Errorf("item = %+v", it)
				}
			}
			if l.Items[0].Seq <= l.Items[1].Seq {
				t.Errorf("not newest first: %d, %d", l.Items[0].Seq, l.Items[1].Seq)
			}
			if f := l.Items[0].Details["fields"]; len(f.([]any)) != 1 || f.([]any)[0] != "username" {
				t.Errorf("fields = %v", f)
			}
		})
		t.Run("by actor and action", func(t *testing.T) {
			if l := list(t, url.Values{"actor": {alice.ID}, "action": {"user.deactivated"}}); len(l.Items) != 0 {
				t.Errorf("items = %+v", l.Items)
			}
		})
		t.Run("time range", func(t *testing.T) {
			future := e.Clock.Now().Add(3600e9).Format("2006-01-02T15:04:05Z07:00")
			if l := list(t, url.Values{"from": {future}}); len(l.Items) != 0 {
				t.Errorf("from the future: %+v", l.Items)
			}
			all := list(t, url.Values{"limit": {"100"}})
			if l := list(t, url.Values{"to": {future}, "limit": {"100"}}); len(l.Items) != len(all.Items) || len(all.Items) < 3 {
				t.Errorf("up to the future: %d items of %d", len(l.Items), len(all.Items))
			}
		})
		t.Run("pages", func(t *testing.T) {
			// alice has four events: registered, logged in, two profile changes.
			first := list(t, url.Values{"limit": {"3"}, "actor": {alice.ID}})
			if len(first.Items) != 3 || first.NextCursor == nil || *first.NextCursor != strconv.FormatInt(first.Items[2].Seq, 10) {
				t.Fatalf("first page = %+v", first)
			}
			second := list(t, url.Values{"limit": {"3"}, "actor": {alice.ID}, "cursor": {*first.NextCursor}})
			if len(second.Items) != 1 || second.NextCursor != nil || second.Items[0].Seq >= first.Items[2].Seq {
				t.Fatalf("second page = %+v", second)
			}
		})

		e.Run(t, []apitest.Scenario{
			{Name: "non-admin gets 403", Request: apitest.Request{URL: "/api/v1/audit-events", Token: alice.Token},
				WantStatus: 403, WantProblem: "forbidden"},
			{Name: "anonymous gets 401", Request: apitest.Request{URL: "/api/v1/audit-events"},
				WantStatus: 401, WantProblem: "unauthorized"},
			{Name: "invalid cursor", Request: apitest.Request{URL: "/api/v1/audit-events?cursor=abc", Token: root.Token},
				WantStatus: 400, WantProblem: "validation", Check: func(t *testing.T, res *apitest.Response) {
					hasFieldError(t, res, "query", "cursor")
				}},
			{Name: "negative cursor", Request: apitest.Request{URL: "/api/v1/audit-events?cursor=-1", Token: root.Token},
				WantStatus: 400, WantProblem: "validation"},
			{Name: "malformed actor", Request: apitest.Request{URL: "/api/v1/audit-events?actor=nope", Token: root.Token},
				WantStatus: 400, WantProblem: "validation"},
		})
	})
}

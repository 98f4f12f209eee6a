package api_test

import (
	"testing"
	"time"

	"secureapi/internal/api/apitest"
)

// Every check of a current password (password change, account deletion,
// email change) spends the same per-account budget as logging in, so a
// stolen access token does not buy unlimited guesses.
func TestCurrentPasswordChecksShareTheLoginBudget(t *testing.T) {
	apitest.Each(t, authEnv, func(t *testing.T, e *apitest.Env) {
		alice := e.NewAccount(t, "alice", false)
		changePw := func(tok, current string) apitest.Request {
			return apitest.Request{Method: "POST", URL: "/api/v1/users/me/password", Token: tok,
				Body: map[string]any{"current_password": current, "new_password": "New-Horse-10"}}
		}
		deleteMe := apitest.Request{Method: "DELETE", URL: "/api/v1/users/me", Token: alice.Token,
			Body: map[string]any{"password": "Wrong-Horse-2"}}
		wrong := []apitest.Request{
			changePw(alice.Token, "Wrong-Horse-1"), deleteMe, changeEmail(alice.Token, "a2@example.org", "Wrong-Horse-3"),
			{Method: "POST", URL: "/api/v1/auth/login", Body: map[string]any{"email": alice.Email, "password": "Wrong-Horse-4"}},
			changePw(alice.Token, "Wrong-Horse-5"),
		}
		for i, r := range wrong {
			if res := e.Do(t, r); res.Status != 403 && res.Status != 401 {
				t.Fatalf("wrong guess %d (%s %s): %d %s", i+1, r.Method, r.URL, res.Status, res.Body)
			}
		}
		e.Run(t, []apitest.Scenario{
			{Name: "the right password is refused while locked", Request: changePw(alice.Token, apitest.Password),
				WantStatus: 429, WantProblem: "too-many-requests", WantHeaders: map[string]string{"Retry-After": "900"}},
			{Name: "deletion is locked too", Request: apitest.Request{Method: "DELETE", URL: "/api/v1/users/me", Token: alice.Token,
				Body: map[string]any{"password": apitest.Password}},
				WantStatus: 429, WantProblem: "too-many-requests"},
			{Name: "email change is locked too", Request: changeEmail(alice.Token, "a2@example.org", apitest.Password),
				WantStatus: 429, WantProblem: "too-many-requests"},
			{Name: "and so is logging in", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/login",
				Body: map[string]any{"email": alice.Email, "password": apitest.Password}},
				WantStatus: 429, WantProblem: "too-many-requests"},
		})
		e.Clock.Advance(15 * time.Minute)
		if res := e.Do(t, changePw(e.NewSession(t, alice.ID), apitest.Password)); res.Status != 204 {
			t.Fatalf("after the lockout: %d %s", res.Status, res.Body)
		}
	})
}

// Password checks also run under the strict per-IP limit of the auth routes.
func TestCurrentPasswordChecksUseTheAuthRateLimit(t *testing.T) {
	apitest.Each(t, map[string]string{"RATE_LIMIT_AUTH_PER_MINUTE": "2"}, func(t *testing.T, e *apitest.Env) {
		alice := e.NewAccount(t, "alice", false) // register and login spend this address's two
		ip := "198.51.100.77:4000"
		for _, r := range []apitest.Request{
			{Method: "POST", URL: "/api/v1/users/me/password", Token: alice.Token, RemoteAddr: ip,
				Body: map[string]any{"current_password": "Wrong-Horse-1", "new_password": "New-Horse-10"}},
			{Method: "DELETE", URL: "/api/v1/users/me", Token: alice.Token, RemoteAddr: ip, Body: map[string]any{"password": "Wrong-Horse-2"}},
		} {
			if res := e.Do(t, r); res.Status != 403 {
				t.Fatalf("%s %s: %d %s", r.Method, r.URL, res.Status, res.Body)
			}
		}
		res := e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/users/me/email", Token: alice.Token, RemoteAddr: ip,
			Body: map[string]any{"new_email": "a2@example.org", "current_password": apitest.Password}})
		if res.Status != 429 || res.Header.Get("Retry-After") == "" {
			t.Fatalf("third password check from one address: %d %s", res.Status, res.Body)
		}
		apitest.AssertProblem(t, res, "too-many-requests")
		// Profile reads stay under the looser limits.
		if res := e.Do(t, apitest.Request{URL: "/api/v1/users/me", Token: alice.Token, RemoteAddr: ip}); res.Status != 200 {
			t.Fatalf("GET /me: %d", res.Status)
		}
	})
}

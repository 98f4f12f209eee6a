package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"secureapi/internal/api/apitest"
	"secureapi/internal/pat"
)

var tokenEnv = map[string]string{
	"CORS_ALLOWED_ORIGINS": appOrigin,
	"PUBLIC_BASE_URL":      appOrigin,
}

// newPAT creates a personal access token for the holder of access and
// returns its secret and id.
func newPAT(t *testing.T, e *apitest.Env, access string, body map[string]any) (secret, id string) {
	t.Helper()
	res := e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/users/me/tokens", Token: access, Body: body})
	if res.Status != http.StatusCreated {
		t.Fatalf("create token: %d %s", res.Status, res.Body)
	}
	b := res.JSON(t)
	return b["token"].(string), b["id"].(string)
}

func wantDetail(part string) func(t *testing.T, res *apitest.Response) {
	return func(t *testing.T, res *apitest.Response) {
		t.Helper()
		if d, _ := res.JSON(t)["detail"].(string); !strings.Contains(d, part) {
			t.Fatalf("detail %q does not say %q", d, part)
		}
	}
}

func TestPersonalAccessTokens(t *testing.T) {
	apitest.Each(t, tokenEnv, func(t *testing.T, e *apitest.Env) {
		alice := e.NewAccount(t, "alice", false)
		bob := e.NewAccount(t, "bob", false)
		f := fileUpload(t, e, alice.Token, "notes.txt", fileText(100))

		var reader, readerID string
		e.Run(t, []apitest.Scenario{
			{Name: "a token is shown once, with its scopes and expiry", Request: apitest.Request{Method: "POST", URL: "/api/v1/users/me/tokens",
				Token: alice.Token, Body: map[string]any{"name": "backup script", "scopes": []string{"files:read"}}},
				WantStatus: 201, WantHeaders: map[string]string{"Cache-Control": "no-store"},
				Check: func(t *testing.T, res *apitest.Response) {
					b := res.JSON(t)
					reader, readerID = b["token"].(string), b["id"].(string)
					if !strings.HasPrefix(reader, "sapat_") || len(reader) != pat.TokenLen || !pat.Valid(reader) {
						t.Fatalf("token %q", reader)
					}
					exp, _ := time.Parse(time.RFC3339, b["expires_at"].(string))
					if d := exp.Sub(e.Clock.Now()); d < 29*24*time.Hour || d > 31*24*time.Hour || b["last_used_at"] != nil {
						t.Fatalf("token = %s (expires in %v, want the 30-day default)", res.Body, d)
					}
				}},
			{Name: "unknown scopes are refused by the spec", Request: apitest.Request{Method: "POST", URL: "/api/v1/users/me/tokens",
				Token: alice.Token, Body: map[string]any{"name": "x", "scopes": []string{"admin:all"}}},
				WantStatus: 400, WantProblem: "validation"},
			{Name: "a token needs a scope", Request: apitest.Request{Method: "POST", URL: "/api/v1/users/me/tokens",
				Token: alice.Token, Body: map[string]any{"name": "x", "scopes": []string{}}},
				WantStatus: 400, WantProblem: "validation"},
			{Name: "every token expires within a year", Request: apitest.Request{Method: "POST", URL: "/api/v1/users/me/tokens",
				Token: alice.Token, Body: map[string]any{"name": "x", "scopes": []string{"files:read"}, "expires_in": 400 * 24 * 3600}},
				WantStatus: 400, WantProblem: "validation"},
		})
		e.Run(t, []apitest.Scenario{
			{Name: "the token lists files", Request: apitest.Request{URL: "/api/v1/files", Token: reader}, WantStatus: 200,
				Check: func(t *testing.T, res *apitest.Response) {
					if len(res.JSON(t)["items"].([]any)) != 1 {
						t.Fatalf("files = %s", res.Body)
					}
				}},
			{Name: "the token reads a file's metadata", Request: apitest.Request{URL: "/api/v1/files/" + f.ID, Token: reader}, WantStatus: 200},
			{Name: "the token downloads", Request: apitest.Request{URL: "/api/v1/files/" + f.ID + "/content", Token: reader}, WantStatus: 200},
			{Name: "the upload route enforces files:write although it skips the validator", Request: fileUploadRequest(t, reader, "x.txt", fileText(10)),
				WantStatus: 403, WantProblem: "forbidden", Check: wantDetail("lacks the scope files:write")},
			{Name: "deleting needs files:write", Request: apitest.Request{Method: "DELETE", URL: "/api/v1/files/" + f.ID, Token: reader},
				WantStatus: 403, WantProblem: "forbidden", Check: wantDetail("lacks the scope files:write")},
			{Name: "the profile needs profile:read", Request: apitest.Request{URL: "/api/v1/users/me", Token: reader},
				WantStatus: 403, WantProblem: "forbidden", Check: wantDetail("lacks the scope profile:read")},
			{Name: "another account's file stays invisible", Request: apitest.Request{URL: "/api/v1/files/" + f.ID, Token: bob.Token}, WantStatus: 404},
		})
		// Account management, the cookie endpoints and admin operations do
		// not list the token scheme, so a token is refused there whatever
		// its scopes.
		var refused []apitest.Scenario
		for _, r := range []apitest.Request{
			{Method: "POST", URL: "/api/v1/users/me/password", Body: map[string]string{"current_password": apitest.Password, "new_password": "Another-Horse-7"}},
			{Method: "PATCH", URL: "/api/v1/users/me", Body: map[string]string{"display_name": "x"}},
			{Method: "DELETE", URL: "/api/v1/users/me", Body: map[string]string{"password": apitest.Password}},
			{URL: "/api/v1/users/me/tokens"},
			{Method: "POST", URL: "/api/v1/users/me/tokens", Body: map[string]any{"name": "x", "scopes": []string{"files:read"}}},
			{Method: "DELETE", URL: "/api/v1/users/me/tokens/" + readerID},
			{URL: "/api/v1/users/me/mfa"},
			{Method: "POST", URL: "/api/v1/users/me/mfa/totp", Body: map[string]string{"password": apitest.Password}},
			{URL: "/api/v1/auth/sessions"},
			{Method: "DELETE", URL: "/api/v1/auth/sessions"},
			{Method: "POST", URL: "/api/v1/auth/refresh", Headers: map[string]string{"Origin": appOrigin}},
			{Method: "POST", URL: "/api/v1/auth/logout", Headers: map[string]string{"Origin": appOrigin}},
			{URL: "/api/v1/users"},
			{URL: "/api/v1/audit-events"},
		} {
			r.Token = reader
			refused = append(refused, apitest.Scenario{Name: r.Method + " " + r.URL + " refuses tokens", Request: r,
				WantStatus: 403, WantProblem: "forbidden", Check: wantDetail("Personal access tokens are not accepted here")})
		}
		e.Run(t, refused)

		t.Run("last use is recorded, at most once a minute", func(t *testing.T) {
			lastUsed := func() string {
				res := e.Do(t, apitest.Request{URL: "/api/v1/users/me/tokens", Token: alice.Token})
				for _, it := range res.JSON(t)["items"].([]any) {
					if tok := it.(map[string]any); tok["id"] == readerID {
						s, _ := tok["last_used_at"].(string)
						return s
					}
				}
				t.Fatalf("token not listed: %s", res.Body)
				return ""
			}
			first := lastUsed()
			if first == "" {
				t.Fatal("last_used_at not set after use")
			}
			e.Clock.Advance(30 * time.Second)
			e.Do(t, apitest.Request{URL: "/api/v1/files", Token: reader})
			if got := lastUsed(); got != first {
				t.Fatalf("last_used_at moved within the minute: %s -> %s", first, got)
			}
			e.Clock.Advance(31 * time.Second)
			e.Do(t, apitest.Request{URL: "/api/v1/files", Token: reader})
			if got := lastUsed(); got == first {
				t.Fatal("last_used_at did not move after a minute")
			}
		})

		writer, _ := newPAT(t, e, alice.Token, map[string]any{"name": "sync", "scopes": []string{"files:write", "profile:read"}})
		typo := []byte(writer)
		typo[10] ^= 1
		e.Run(t, []apitest.Scenario{
			{Name: "a files:write token uploads", Request: fileUploadRequest(t, writer, "y.txt", fileText(10)), WantStatus: 201},
			{Name: "a profile:read token reads the profile", Request: apitest.Request{URL: "/api/v1/users/me", Token: writer}, WantStatus: 200},
			{Name: "scopes do not imply each other", Request: apitest.Request{URL: "/api/v1/files", Token: writer},
				WantStatus: 403, Check: wantDetail("files:read")},
			{Name: "a mistyped token is unauthorized", Request: apitest.Request{URL: "/api/v1/files", Token: string(typo)},
				WantStatus: 401, WantProblem: "unauthorized"},
			{Name: "a well-formed unknown token is unauthorized", Request: apitest.Request{URL: "/api/v1/files", Token: mustToken(t)},
				WantStatus: 401, WantProblem: "unauthorized"},
			{Name: "another account cannot revoke it", Request: apitest.Request{Method: "DELETE", URL: "/api/v1/users/me/tokens/" + readerID, Token: bob.Token},
				WantStatus: 404, WantProblem: "not-found"},
			{Name: "its owner revokes it", Request: apitest.Request{Method: "DELETE", URL: "/api/v1/users/me/tokens/" + readerID, Token: alice.Token},
				WantStatus: 204},
			{Name: "a revoked token stops at once", Request: apitest.Request{URL: "/api/v1/files", Token: reader},
				WantStatus: 401, WantProblem: "unauthorized"},
			{Name: "revoking twice is not found", Request: apitest.Request{Method: "DELETE", URL: "/api/v1/users/me/tokens/" + readerID, Token: alice.Token},
				WantStatus: 404},
			{Name: "the list no longer shows it, never a secret", Request: apitest.Request{URL: "/api/v1/users/me/tokens", Token: alice.Token},
				WantStatus: 200, Check: func(t *testing.T, res *apitest.Response) {
					items := res.JSON(t)["items"].([]any)
					if len(items) != 1 || strings.Contains(string(res.Body), "sapat_") {
						t.Fatalf("tokens = %s", res.Body)
					}
				}},
		})
		if evs := auditActions(t, e, "pat.created"); len(evs) != 2 {
			t.Fatalf("pat.created events: %d", len(evs))
		}
		if evs := auditActions(t, e, "pat.revoked"); len(evs) != 1 {
			t.Fatalf("pat.revoked events: %d", len(evs))
		}
	})
}

// mustToken is a token of the right form and checksum that was never issued.
func mustToken(t *testing.T) string {
	t.Helper()
	e := apitest.New(t, "sqlite", nil)
	a := e.NewAccount(t, "ghost", false)
	tok, _ := newPAT(t, e, a.Token, map[string]any{"name": "x", "scopes": []string{"files:read"}})
	return tok
}

func TestPersonalAccessTokensExpire(t *testing.T) {
	apitest.Each(t, tokenEnv, func(t *testing.T, e *apitest.Env) {
		alice := e.NewAccount(t, "alice", false)
		tok, _ := newPAT(t, e, alice.Token, map[string]any{"name": "short", "scopes": []string{"profile:read"}, "expires_in": 300})
		if res := e.Do(t, apitest.Request{URL: "/api/v1/users/me", Token: tok}); res.Status != 200 {
			t.Fatalf("fresh token: %d", res.Status)
		}
		e.Clock.Advance(5 * time.Minute)
		res := e.Do(t, apitest.Request{URL: "/api/v1/users/me", Token: tok})
		if res.Status != 401 {
			t.Fatalf("expired token: %d %s", res.Status, res.Body)
		}
		apitest.AssertProblem(t, res, "unauthorized")
		// Expired tokens stay listed (with their expiry) until revoked.
		res = e.Do(t, apitest.Request{URL: "/api/v1/users/me/tokens", Token: e.NewSession(t, alice.ID)})
		if len(res.JSON(t)["items"].([]any)) != 1 {
			t.Fatalf("tokens = %s", res.Body)
		}
	})
}

func TestPersonalAccessTokensAreCapped(t *testing.T) {
	e := apitest.New(t, "sqlite", tokenEnv)
	alice := e.NewAccount(t, "alice", false)
	for i := range pat.MaxLive {
		newPAT(t, e, alice.Token, map[string]any{"name": fmt.Sprint("t", i), "scopes": []string{"files:read"}})
	}
	res := e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/users/me/tokens", Token: alice.Token,
		Body: map[string]any{"name": "one too many", "scopes": []string{"files:read"}}})
	if res.Status != 409 {
		t.Fatalf("token %d: %d %s", pat.MaxLive+1, res.Status, res.Body)
	}
}

// A new password, a reset or a deactivation ends every way in, tokens too.
func TestPersonalAccessTokensRevokedWithCredentials(t *testing.T) {
	apitest.Each(t, tokenEnv, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		root := e.NewAccount(t, "root", true)
		alice := e.NewAccount(t, "alice", false)
		profile := map[string]any{"name": "p", "scopes": []string{"profile:read"}}
		works := func(tok string) bool {
			return e.Do(t, apitest.Request{URL: "/api/v1/users/me", Token: tok}).Status == 200
		}

		tok, _ := newPAT(t, e, alice.Token, profile)
		res := e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/users/me/password", Token: alice.Token,
			Body: map[string]string{"current_password": apitest.Password, "new_password": "Another-Horse-7"}})
		if res.Status != 204 || works(tok) {
			t.Fatalf("after a password change: %d, token works: %v", res.Status, works(tok))
		}

		tok, _ = newPAT(t, e, alice.Token, profile)
		if err := e.App.Auth.ForgotPassword(ctx, alice.Email); err != nil {
			t.Fatal(err)
		}
		mailed := outboxTokens(t, e)
		res = e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/password/reset",
			Body: map[string]string{"token": mailed[len(mailed)-1], "new_password": "Third-Horse-5"}})
		if res.Status != 204 || works(tok) {
			t.Fatalf("after a password reset: %d, token works: %v", res.Status, works(tok))
		}

		session := e.NewSession(t, alice.ID)
		tok, id := newPAT(t, e, session, profile)
		res = e.Do(t, apitest.Request{Method: "PATCH", URL: "/api/v1/users/" + alice.ID, Token: root.Token, Body: map[string]any{"is_active": false}})
		if res.Status != 200 || works(tok) {
			t.Fatalf("after deactivation: %d, token works: %v", res.Status, works(tok))
		}
		// Revoked, not merely refused while inactive: reactivation does not bring it back.
		e.Do(t, apitest.Request{Method: "PATCH", URL: "/api/v1/users/" + alice.ID, Token: root.Token, Body: map[string]any{"is_active": true}})
		if works(tok) {
			t.Fatalf("token %s works again after reactivation", id)
		}
		// Each change says how many tokens it revoked, in the same event
		// (and transaction) as the sessions.
		for action, key := range map[string]string{
			"user.password_changed": "revoked_pats", "user.password_reset": "pats_revoked",
			"user.deactivated": "revoked_pats",
		} {
			evs := auditActions(t, e, action)
			if len(evs) != 1 || !strings.Contains(evs[0].Details, `"`+key+`":1`) {
				t.Errorf("%s events = %+v, want one with %s 1", action, evs, key)
			}
		}
	})
}

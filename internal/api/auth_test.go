package api_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"secureapi/internal/api/apitest"
)

// authEnv is what every auth scenario runs with: one allowed browser origin,
// reset links pointing at it, and rate limits far above what the tests send.
var authEnv = map[string]string{
	"CORS_ALLOWED_ORIGINS":       "https://app.example.com",
	"PUBLIC_BASE_URL":            "https://app.example.com",
	"RATE_LIMIT_AUTH_PER_MINUTE": "10000",
	"RATE_LIMIT_IP_PER_MINUTE":   "10000",
}

const (
	alicePassword = "Correct-Horse-9"
	appOrigin     = "https://app.example.com"
)

func register(t *testing.T, e *apitest.Env, email, username string) map[string]any {
	t.Helper()
	res := e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/register",
		Body: map[string]any{"email": email, "username": username, "password": alicePassword}})
	if res.Status != http.StatusCreated {
		t.Fatalf("register %s: %d %s", email, res.Status, res.Body)
	}
	return res.JSON(t)
}

// session is a logged-in client: its access token and refresh cookie.
type session struct {
	access string
	cookie *http.Cookie
}

func login(t *testing.T, e *apitest.Env, email, password string) session {
	t.Helper()
	res := e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/login",
		Body: map[string]any{"email": email, "password": password}})
	if res.Status != http.StatusOK {
		t.Fatalf("login %s: %d %s", email, res.Status, res.Body)
	}
	c := res.Cookie("refresh_token")
	if c == nil {
		t.Fatalf("login set no refresh cookie: %v", res.Header)
	}
	return session{access: res.JSON(t)["access_token"].(string), cookie: c}
}

func refresh(t *testing.T, e *apitest.Env, c *http.Cookie) *apitest.Response {
	t.Helper()
	return e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/refresh", Cookies: []*http.Cookie{c},
		Headers: map[string]string{"Origin": appOrigin}})
}

func sessions(t *testing.T, e *apitest.Env, access string) *apitest.Response {
	t.Helper()
	return e.Do(t, apitest.Request{URL: "/api/v1/auth/sessions", Token: access})
}

// withoutRequestFacts drops the fields of a problem that differ per request.
func withoutRequestFacts(t *testing.T, body []byte) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "request_id")
	delete(m, "instance")
	out, _ := json.Marshal(m)
	return string(out)
}

func TestAuthRegisterLoginRefreshLogout(t *testing.T) {
	apitest.Each(t, authEnv, func(t *testing.T, e *apitest.Env) {
		var s session
		var rotated *http.Cookie
		e.Run(t, []apitest.Scenario{
			{Name: "register creates a user account", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/register",
				Body: map[string]any{"email": "Alice@Example.com", "username": "Alice", "password": alicePassword, "display_name": "Alice L."}},
				WantStatus: 201, WantHeaders: map[string]string{"Cache-Control": "no-store"},
				Check: func(t *testing.T, res *apitest.Response) {
					u := res.JSON(t)
					if u["email"] != "alice@example.com" || u["username"] != "alice" || u["role"] != "user" ||
						u["is_active"] != true || u["display_name"] != "Alice L." || u["password_hash"] != nil {
						t.Fatalf("user = %s", res.Body)
					}
				}},
			{Name: "a taken email is a conflict", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/register",
				Body: map[string]any{"email": "alice@example.com", "username": "alice2", "password": alicePassword}},
				WantStatus: 409, WantProblem: "conflict"},
			{Name: "a taken username is a conflict", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/register",
				Body: map[string]any{"email": "alice2@example.com", "username": "ALICE", "password": alicePassword}},
				WantStatus: 409, WantProblem: "conflict"},
			{Name: "a weak password names the rule", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/register",
				Body: map[string]any{"email": "bob@example.com", "username": "bob", "password": "alllowercase1"}},
				WantStatus: 400, WantProblem: "validation",
				Check: func(t *testing.T, res *apitest.Response) {
					errs := res.JSON(t)["errors"].([]any)
					f := errs[0].(map[string]any)
					if len(errs) != 1 || f["field"] != "password" || f["location"] != "body" || f["message"] != "password must contain an uppercase letter" {
						t.Fatalf("errors = %s", res.Body)
					}
				}},
			{Name: "login returns a bearer token and sets the refresh cookie", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/login",
				Body: map[string]any{"email": "alice@example.com", "password": alicePassword}},
				WantStatus: 200, WantHeaders: map[string]string{"Cache-Control": "no-store"},
				Check: func(t *testing.T, res *apitest.Response) {
					body := res.JSON(t)
					if body["token_type"] != "Bearer" || body["expires_in"] != float64(900) || body["access_token"] == "" || body["refresh_token"] != nil {
						t.Fatalf("body = %s", res.Body)
					}
					c := res.Cookie("refresh_token")
					if c == nil || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/api/v1/auth" ||
						c.MaxAge != int((720*time.Hour)/time.Second) || c.Domain != "" || len(c.Value) < 40 {
						t.Fatalf("cookie = %q", res.Header.Get("Set-Cookie"))
					}
					s = session{access: body["access_token"].(string), cookie: c}
				}},
		})
		e.Run(t, []apitest.Scenario{
			{Name: "the access token lists the current session", Request: apitest.Request{URL: "/api/v1/auth/sessions", Token: s.access},
				WantStatus: 200, WantHeaders: map[string]string{"Cache-Control": "no-store"},
				Check: func(t *testing.T, res *apitest.Response) {
					items := res.JSON(t)["items"].([]any)
					if len(items) != 1 || items[0].(map[string]any)["current"] != true || items[0].(map[string]any)["ip"] != "192.0.2.10" {
						t.Fatalf("sessions = %s", res.Body)
					}
				}},
			{Name: "refresh rotates the cookie", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/refresh",
				Cookies: []*http.Cookie{s.cookie}, Headers: map[string]string{"Origin": appOrigin}},
				WantStatus: 200, WantHeaders: map[string]string{"Cache-Control": "no-store"},
				Check: func(t *testing.T, res *apitest.Response) {
					rotated = res.Cookie("refresh_token")
					if rotated == nil || rotated.Value == s.cookie.Value || !rotated.HttpOnly || rotated.Path != "/api/v1/auth" {
						t.Fatalf("rotated cookie = %q", res.Header.Get("Set-Cookie"))
					}
					if res.JSON(t)["access_token"] == s.access {
						t.Fatal("same access token")
					}
				}},
			{Name: "the previous cookie right after a rotation gets a token but no new cookie", Request: apitest.Request{Method: "POST",
				URL: "/api/v1/auth/refresh", Cookies: []*http.Cookie{s.cookie}},
				WantStatus: 200, WantHeaders: map[string]string{"Set-Cookie": ""}},
			{Name: "refresh without a cookie is refused", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/refresh"},
				WantStatus: 401, WantProblem: "unauthorized"},
		})
		e.Run(t, []apitest.Scenario{
			{Name: "logout revokes the session and clears the cookie", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/logout",
				Cookies: []*http.Cookie{rotated}, Headers: map[string]string{"Origin": appOrigin}},
				WantStatus: 204, WantHeaders: map[string]string{"Cache-Control": "no-store"},
				Check: func(t *testing.T, res *apitest.Response) {
					raw := res.Header.Get("Set-Cookie")
					if !strings.HasPrefix(raw, "refresh_token=;") || !strings.Contains(raw, "Max-Age=0") ||
						!strings.Contains(raw, "Path=/api/v1/auth") || !strings.Contains(raw, "HttpOnly") {
						t.Fatalf("Set-Cookie = %q", raw)
					}
				}},
			{Name: "the access token of a logged-out session fails at once", Request: apitest.Request{URL: "/api/v1/auth/sessions", Token: s.access},
				WantStatus: 401, WantProblem: "unauthorized"},
			{Name: "the logged-out cookie cannot refresh", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/refresh",
				Cookies: []*http.Cookie{rotated}}, WantStatus: 401, WantProblem: "unauthorized"},
			{Name: "logout without a cookie still succeeds", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/logout"},
				WantStatus: 204},
			{Name: "sessions need a token", Request: apitest.Request{URL: "/api/v1/auth/sessions"}, WantStatus: 401, WantProblem: "unauthorized"},
		})
	})
}

func TestAuthLoginFailuresAreIndistinguishable(t *testing.T) {
	apitest.Each(t, authEnv, func(t *testing.T, e *apitest.Env) {
		register(t, e, "alice@example.com", "alice")
		unknown := e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/login",
			Body: map[string]any{"email": "nobody@example.com", "password": alicePassword}})
		wrong := e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/login",
			Body: map[string]any{"email": "alice@example.com", "password": "Wrong-Password-1"}})
		for _, res := range []*apitest.Response{unknown, wrong} {
			if res.Status != 401 || res.Cookie("refresh_token") != nil {
				t.Fatalf("status %d, cookie %v", res.Status, res.Header.Get("Set-Cookie"))
			}
			apitest.AssertProblem(t, res, "unauthorized")
		}
		if a, b := withoutRequestFacts(t, unknown.Body), withoutRequestFacts(t, wrong.Body); a != b {
			t.Fatalf("bodies differ:\nunknown account: %s\nwrong password:  %s", a, b)
		}
		for _, h := range []string{"Content-Type", "WWW-Authenticate", "Cache-Control"} {
			if unknown.Header.Get(h) != wrong.Header.Get(h) {
				t.Errorf("header %s differs: %q vs %q", h, unknown.Header.Get(h), wrong.Header.Get(h))
			}
		}
		if strings.Contains(e.Logs.String(), "alice@example.com") || strings.Contains(e.Logs.String(), "Wrong-Password-1") {
			t.Error("logs hold a full email or a password")
		}
	})
}

func TestAuthLockoutAfterFailedLogins(t *testing.T) {
	apitest.Each(t, authEnv, func(t *testing.T, e *apitest.Env) {
		register(t, e, "alice@example.com", "alice")
		wrong := apitest.Request{Method: "POST", URL: "/api/v1/auth/login",
			Body: map[string]any{"email": "alice@example.com", "password": "Wrong-Password-1"}}
		for i := range 5 {
			if res := e.Do(t, wrong); res.Status != 401 {
				t.Fatalf("attempt %d: %d %s", i+1, res.Status, res.Body)
			}
		}
		res := e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/login",
			Body: map[string]any{"email": "alice@example.com", "password": alicePassword}})
		if res.Status != 429 || res.Header.Get("Retry-After") != "900" {
			t.Fatalf("after 5 failures: %d, Retry-After %q; %s", res.Status, res.Header.Get("Retry-After"), res.Body)
		}
		apitest.AssertProblem(t, res, "too-many-requests")

		e.Clock.Advance(15 * time.Minute)
		login(t, e, "alice@example.com", alicePassword)
	})
}

func TestAuthCookieEndpointsRefuseCrossSiteRequests(t *testing.T) {
	apitest.Each(t, authEnv, func(t *testing.T, e *apitest.Env) {
		register(t, e, "alice@example.com", "alice")
		s := login(t, e, "alice@example.com", alicePassword)
		e.Run(t, []apitest.Scenario{
			{Name: "refresh from another origin", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/refresh",
				Cookies: []*http.Cookie{s.cookie}, Headers: map[string]string{"Origin": "https://evil.example"}},
				WantStatus: 403, WantProblem: "forbidden", WantHeaders: map[string]string{"Set-Cookie": ""}},
			{Name: "refresh from a cross-site fetch without Origin", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/refresh",
				Cookies: []*http.Cookie{s.cookie}, Headers: map[string]string{"Sec-Fetch-Site": "cross-site"}},
				WantStatus: 403, WantProblem: "forbidden"},
			{Name: "logout from another origin", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/logout",
				Cookies: []*http.Cookie{s.cookie}, Headers: map[string]string{"Origin": "null"}},
				WantStatus: 403, WantProblem: "forbidden", WantHeaders: map[string]string{"Set-Cookie": ""}},
			{Name: "the session is untouched", Request: apitest.Request{URL: "/api/v1/auth/sessions", Token: s.access}, WantStatus: 200},
			{Name: "the same host under another scheme is another origin", Request: apitest.Request{Method: "POST", URL: "http://api.example.com/api/v1/auth/logout",
				Cookies: []*http.Cookie{s.cookie}, Headers: map[string]string{"Origin": "https://api.example.com"}},
				WantStatus: 403, WantProblem: "forbidden"},
		})
		// A page on the API's own origin is same-origin, listed or not.
		own := e.Do(t, apitest.Request{Method: "POST", URL: "http://api.example.com/api/v1/auth/refresh",
			Cookies: []*http.Cookie{s.cookie}, Headers: map[string]string{"Origin": "http://api.example.com"}})
		if own.Status != 200 {
			t.Fatalf("same-origin refresh: %d %s", own.Status, own.Body)
		}
		s.cookie = own.Cookie("refresh_token")
		// The refused refresh did not rotate the cookie: it is still the current one.
		res := refresh(t, e, s.cookie)
		if res.Status != 200 || res.Cookie("refresh_token") == nil {
			t.Fatalf("same-site refresh after refusals: %d %s", res.Status, res.Body)
		}
	})
}

func TestAuthRefreshReuseRevokesSession(t *testing.T) {
	apitest.Each(t, authEnv, func(t *testing.T, e *apitest.Env) {
		register(t, e, "alice@example.com", "alice")
		s := login(t, e, "alice@example.com", alicePassword)
		res := refresh(t, e, s.cookie)
		next := res.Cookie("refresh_token")
		if res.Status != 200 || next == nil {
			t.Fatalf("refresh: %d %s", res.Status, res.Body)
		}
		access := res.JSON(t)["access_token"].(string)

		e.Clock.Advance(11 * time.Second) // past the reuse grace
		if res := refresh(t, e, s.cookie); res.Status != 401 {
			t.Fatalf("reused cookie: %d %s", res.Status, res.Body)
		}
		if res := refresh(t, e, next); res.Status != 401 {
			t.Fatalf("current cookie after reuse: %d %s", res.Status, res.Body)
		}
		if res := sessions(t, e, access); res.Status != 401 {
			t.Fatalf("access token after reuse: %d %s", res.Status, res.Body)
		}
	})
}

func TestAuthSessionManagement(t *testing.T) {
	apitest.Each(t, authEnv, func(t *testing.T, e *apitest.Env) {
		register(t, e, "alice@example.com", "alice")
		register(t, e, "bob@example.com", "bob")
		a1 := login(t, e, "alice@example.com", alicePassword)
		a2 := login(t, e, "alice@example.com", alicePassword)
		a3 := login(t, e, "alice@example.com", alicePassword)
		b1 := login(t, e, "bob@example.com", alicePassword)

		var ids []string
		res := sessions(t, e, a1.access)
		current := 0
		for _, it := range res.JSON(t)["items"].([]any) {
			m := it.(map[string]any)
			ids = append(ids, m["id"].(string))
			if m["current"] == true {
				current++
			}
		}
		if len(ids) != 3 || current != 1 {
			t.Fatalf("sessions = %s", res.Body)
		}
		bobSession := sessions(t, e, b1.access).JSON(t)["items"].([]any)[0].(map[string]any)["id"].(string)
		a2Session := sessionID(t, e, a2.access)

		e.Run(t, []apitest.Scenario{
			{Name: "another account's session is not found", Request: apitest.Request{Method: "DELETE",
				URL: "/api/v1/auth/sessions/" + bobSession, Token: a1.access}, WantStatus: 404, WantProblem: "not-found"},
			{Name: "an unknown session is not found", Request: apitest.Request{Method: "DELETE",
				URL: "/api/v1/auth/sessions/0192f6a4-6a8e-7cc1-9a55-3f7c2d6e8b10", Token: a1.access}, WantStatus: 404, WantProblem: "not-found"},
			{Name: "a malformed id is a validation error", Request: apitest.Request{Method: "DELETE",
				URL: "/api/v1/auth/sessions/nope", Token: a1.access}, WantStatus: 400, WantProblem: "validation"},
			{Name: "revoke one session", Request: apitest.Request{Method: "DELETE",
				URL: "/api/v1/auth/sessions/" + a2Session, Token: a1.access}, WantStatus: 204},
			{Name: "its token stops working", Request: apitest.Request{URL: "/api/v1/auth/sessions", Token: a2.access}, WantStatus: 401},
			{Name: "revoke every other session", Request: apitest.Request{Method: "DELETE", URL: "/api/v1/auth/sessions", Token: a1.access},
				WantStatus: 204},
			{Name: "their tokens stop working", Request: apitest.Request{URL: "/api/v1/auth/sessions", Token: a3.access}, WantStatus: 401},
			{Name: "the current session remains", Request: apitest.Request{URL: "/api/v1/auth/sessions", Token: a1.access}, WantStatus: 200,
				Check: func(t *testing.T, res *apitest.Response) {
					if items := res.JSON(t)["items"].([]any); len(items) != 1 || items[0].(map[string]any)["current"] != true {
						t.Fatalf("sessions = %s", res.Body)
					}
				}},
			{Name: "bob is unaffected", Request: apitest.Request{URL: "/api/v1/auth/sessions", Token: b1.access}, WantStatus: 200},
		})
	})
}

func sessionID(t *testing.T, e *apitest.Env, access string) string {
	t.Helper()
	for _, it := range sessions(t, e, access).JSON(t)["items"].([]any) {
		if m := it.(map[string]any); m["current"] == true {
			return m["id"].(string)
		}
	}
	t.Fatal("no current session")
	return ""
}

var resetLinkRE = regexp.MustCompile(`https://app\.example\.com/reset-password#token=([A-Za-z0-9_-]+)`)

// outboxTokens returns the reset tokens of every mail in the development
// outbox under the data directory, oldest first.
func outboxTokens(t *testing.T, e *apitest.Env) []string {
	t.Helper()
	e.DrainMail(t)
	var files []string
	_ = filepath.WalkDir(e.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".eml") {
			files = append(files, path)
		}
		return nil
	})
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if m := resetLinkRE.FindSubmatch(b); m != nil {
			out = append(out, string(m[1]))
		}
	}
	return out
}

func TestAuthPasswordResetByMail(t *testing.T) {
	apitest.Each(t, authEnv, func(t *testing.T, e *apitest.Env) {
		register(t, e, "alice@example.com", "alice")
		old := login(t, e, "alice@example.com", alicePassword)

		res := e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/password/forgot", Body: map[string]any{"email": "nobody@example.com"}})
		if res.Status != 202 || len(outboxTokens(t, e)) != 0 {
			t.Fatalf("forgot(unknown): %d, %d mails", res.Status, len(outboxTokens(t, e)))
		}
		res = e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/password/forgot", Body: map[string]any{"email": "Alice@example.com"}})
		tokens := outboxTokens(t, e)
		if res.Status != 202 || len(tokens) != 1 {
			t.Fatalf("forgot(alice): %d, %d mails", res.Status, len(tokens))
		}
		if strings.Contains(e.Logs.String(), tokens[0]) {
			t.Fatal("the reset token was logged")
		}

		reset := func(tok, pw string) *apitest.Response {
			return e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/password/reset",
				Body: map[string]any{"token": tok, "new_password": pw}})
		}
		res = reset(tokens[0], "weak")
		if res.Status != 400 || !bytes.Contains(res.Body, []byte(`"field":"new_password"`)) {
			t.Fatalf("weak password: %d %s", res.Status, res.Body)
		}
		if res := reset(tokens[0], "Brand-New-Pass-7"); res.Status != 204 {
			t.Fatalf("reset: %d %s", res.Status, res.Body)
		}
		res = reset(tokens[0], "Brand-New-Pass-8")
		apitest.AssertProblem(t, res, "validation")
		if !bytes.Contains(res.Body, []byte(`"field":"token"`)) {
			t.Fatalf("token reuse: %s", res.Body)
		}
		if res := sessions(t, e, old.access); res.Status != 401 {
			t.Fatalf("old session after reset: %d", res.Status)
		}
		res = e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/login",
			Body: map[string]any{"email": "alice@example.com", "password": alicePassword}})
		if res.Status != 401 {
			t.Fatalf("old password after reset: %d", res.Status)
		}
		login(t, e, "alice@example.com", "Brand-New-Pass-7")
	})
}

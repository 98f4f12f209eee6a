package api_test

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"secureapi/internal/api/apitest"
	"secureapi/internal/platform/password"
)

// hashingEnv runs one hash at a time with one caller queued. The queue
// timeout is an hour: a refused request that had waited for a slot instead
// of being turned away at once would hang the test, not slow it down.
var hashingEnv = func() map[string]string {
	env := maps.Clone(authEnv)
	maps.Copy(env, map[string]string{
		"HASH_CONCURRENCY":   "1",
		"HASH_QUEUE_DEPTH":   "1",
		"HASH_QUEUE_TIMEOUT": "1h",
		"MFA_ISSUER":         "Acme API",
	})
	return env
}()

// saturate takes every place the hasher admits, as a login flood would,
// and returns a function that gives them back.
func saturate(t *testing.T, e *apitest.Env) (release func()) {
	t.Helper()
	var held []*password.Reservation
	for {
		r, err := e.App.Hasher.Reserve()
		if errors.Is(err, password.ErrBusy) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, r)
	}
	if len(held) != 2 {
		t.Fatalf("the hasher admitted %d callers, want HASH_CONCURRENCY+HASH_QUEUE_DEPTH = 2", len(held))
	}
	return func() {
		for _, r := range held {
			r.Release()
		}
	}
}

// While password hashing is saturated, every operation that hashes a
// password answers at once with a 429 problem and Retry-After, declared in
// the spec, and leaves nothing behind: the same requests succeed afterwards.
func TestSaturatedHashingRefusesAtOnce(t *testing.T) {
	apitest.Each(t, hashingEnv, func(t *testing.T, e *apitest.Env) {
		alice := e.NewAccount(t, "alice", false)
		bob := e.NewAccount(t, "bob", false)
		_, recovery := e.EnableTOTP(t, bob)
		if res := e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/password/forgot",
			Body: map[string]any{"email": alice.Email}}); res.Status != 202 {
			t.Fatalf("forgot: %d %s", res.Status, res.Body)
		}
		resetTokens := outboxTokens(t, e)
		if len(resetTokens) != 1 {
			t.Fatalf("%d reset links mailed, want 1", len(resetTokens))
		}

		register := apitest.Request{Method: "POST", URL: "/api/v1/auth/register",
			Body: map[string]any{"email": "carol@example.com", "username": "carol", "password": alicePassword}}
		login := apitest.Request{Method: "POST", URL: "/api/v1/auth/login",
			Body: map[string]any{"email": alice.Email, "password": apitest.Password}}
		reset := apitest.Request{Method: "POST", URL: "/api/v1/auth/password/reset",
			Body: map[string]any{"token": resetTokens[0], "new_password": "Brand-New-Pass-7"}}
		busy := func(name string, req apitest.Request) apitest.Scenario {
			return apitest.Scenario{Name: name, Request: req, WantStatus: 429, WantProblem: "too-many-requests",
				WantHeaders: map[string]string{"Retry-After": "1"},
				Check: func(t *testing.T, res *apitest.Response) {
					if d, _ := res.JSON(t)["detail"].(string); !strings.Contains(d, "busy") {
						t.Errorf("detail %q does not say the server is busy", d)
					}
				}}
		}

		release := saturate(t, e)
		e.Run(t, []apitest.Scenario{
			busy("login", login),
			busy("login to an unknown account", apitest.Request{Method: "POST", URL: "/api/v1/auth/login",
				Body: map[string]any{"email": "nobody@example.com", "password": apitest.Password}}),
			// Refused before the body is read: a flood's refusals cost no parsing.
			busy("login whose body is never read", apitest.Request{Method: "POST", URL: "/api/v1/auth/login",
				Body: "{not json", Headers: map[string]string{"Content-Type": "application/json"}}),
			busy("registration", register),
			busy("password reset", reset),
			busy("password change", apitest.Request{Method: "POST", URL: "/api/v1/users/me/password", Token: alice.Token,
				Body: map[string]any{"current_password": apitest.Password, "new_password": "New-Horse-10"}}),
			busy("email change", changeEmail(alice.Token, "alice2@example.com", apitest.Password)),
			busy("account deletion", apitest.Request{Method: "DELETE", URL: "/api/v1/users/me", Token: alice.Token,
				Body: map[string]any{"password": apitest.Password}}),
			busy("two-factor enrolment", apitest.Request{Method: "POST", URL: "/api/v1/users/me/mfa/totp", Token: alice.Token,
				Body: map[string]string{"password": apitest.Password}}),
			busy("new recovery codes", apitest.Request{Method: "POST", URL: "/api/v1/users/me/mfa/recovery-codes", Token: bob.Token,
				Body: map[string]string{"password": apitest.Password, "recovery_code": recovery[0]}}),
			busy("turning two-factor off", apitest.Request{Method: "POST", URL: "/api/v1/users/me/mfa/totp/disable", Token: bob.Token,
				Body: map[string]string{"password": apitest.Password, "recovery_code": recovery[1]}}),
			{Name: "requests that hash nothing are served", Request: apitest.Request{URL: "/api/v1/users/me", Token: alice.Token},
				WantStatus: 200},
		})
		release()

		// Refused attempts were not counted: more of them than the failure
		// budget (5) went by, and the right password still gets in. The
		// reset link was not spent and no account was created.
		for range 5 {
			release := saturate(t, e)
			if res := e.Do(t, login); res.Status != 429 {
				t.Fatalf("login while saturated: %d %s", res.Status, res.Body)
			}
			release()
		}
		e.Run(t, []apitest.Scenario{
			{Name: "after the flood, login", Request: login, WantStatus: 200},
			{Name: "after the flood, registration", Request: register, WantStatus: 201},
			{Name: "after the flood, the same reset link", Request: reset, WantStatus: 204},
		})
		if inUse, waiting := e.App.Hasher.Stats(); inUse != 0 || waiting != 0 {
			t.Fatalf("hasher still busy after every request returned: %d running, %d waiting", inUse, waiting)
		}
		saturate(t, e)() // every place came back
	})
}

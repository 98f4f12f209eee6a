package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"secureapi/internal/api/apitest"
	"secureapi/internal/audit"
	"secureapi/internal/auth"
	"secureapi/internal/platform/totp"
)

// mfaEnv keeps the login budget small so lockout scenarios stay short.
var mfaEnv = map[string]string{
	"LOGIN_MAX_FAILURES":   "3",
	"MFA_ISSUER":           "Acme API",
	"CORS_ALLOWED_ORIGINS": appOrigin,
}

func passwordStep(t *testing.T, e *apitest.Env, a apitest.Account) *apitest.Response {
	t.Helper()
	return e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/login", RemoteAddr: a.Addr,
		Body: map[string]string{"email": a.Email, "password": apitest.Password}})
}

// mfaToken runs the password step of an account with a second factor and
// returns its MFA token.
func mfaToken(t *testing.T, e *apitest.Env, a apitest.Account) string {
	t.Helper()
	res := passwordStep(t, e, a)
	if res.Status != http.StatusOK {
		t.Fatalf("password step: %d %s", res.Status, res.Body)
	}
	tok, _ := res.JSON(t)["mfa_token"].(string)
	if tok == "" {
		t.Fatalf("password step did not ask for a second factor: %s", res.Body)
	}
	return tok
}

func verify(t *testing.T, e *apitest.Env, a apitest.Account, body map[string]string) *apitest.Response {
	t.Helper()
	return e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/mfa/verify", RemoteAddr: a.Addr, Body: body})
}

func auditActions(t *testing.T, e *apitest.Env, action string) []audit.Event {
	t.Helper()
	evs, _, err := e.App.Audit.List(context.Background(), audit.Filter{Action: action, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestMFAEnrolConfirmAndLogin(t *testing.T) {
	apitest.Each(t, mfaEnv, func(t *testing.T, e *apitest.Env) {
		alice := e.NewAccount(t, "alice", false)
		laptop := e.NewSession(t, alice.ID)
		var secret string
		e.Run(t, []apitest.Scenario{
			{Name: "an account starts without a second factor", Request: apitest.Request{URL: "/api/v1/users/me", Token: alice.Token},
				WantStatus: 200, Check: func(t *testing.T, res *apitest.Response) {
					if res.JSON(t)["mfa_enabled"] != false {
						t.Fatalf("user = %s", res.Body)
					}
				}},
			{Name: "enrolment needs the current password", Request: apitest.Request{Method: "POST", URL: "/api/v1/users/me/mfa/totp",
				Token: alice.Token, Body: map[string]string{"password": "Wrong-Password-1"}},
				WantStatus: 403, WantProblem: "forbidden"},
			{Name: "confirming before enrolling is a conflict", Request: apitest.Request{Method: "POST", URL: "/api/v1/users/me/mfa/totp/confirm",
				Token: alice.Token, Body: map[string]string{"code": "123456"}},
				WantStatus: 409, WantProblem: "conflict"},
			{Name: "enrolment returns the secret, its otpauth URI and a QR code", Request: apitest.Request{Method: "POST",
				URL: "/api/v1/users/me/mfa/totp", Token: alice.Token, Body: map[string]string{"password": apitest.Password}},
				WantStatus: 201, WantHeaders: map[string]string{"Cache-Control": "no-store"},
				Check: func(t *testing.T, res *apitest.Response) {
					b := res.JSON(t)
					secret = b["secret"].(string)
					u, err := url.Parse(b["otpauth_uri"].(string))
					if err != nil || u.Scheme != "otpauth" || u.Query().Get("secret") != secret || u.Query().Get("issuer") != "Acme API" ||
						!strings.HasSuffix(u.Path, ":alice@example.com") {
						t.Errorf("otpauth_uri = %v", b["otpauth_uri"])
					}
					if qr, _ := b["qr_code_png"].(string); !strings.HasPrefix(qr, "data:image/png;base64,") {
						t.Errorf("qr_code_png = %.40q", qr)
					}
				}},
		})
		e.Run(t, []apitest.Scenario{
			{Name: "a pending factor shows as pending", Request: apitest.Request{URL: "/api/v1/users/me/mfa", Token: alice.Token},
				WantStatus: 200, Check: func(t *testing.T, res *apitest.Response) {
					b := res.JSON(t)
					if b["enabled"] != false || b["pending"] != true || b["recovery_codes_left"] != float64(0) {
						t.Fatalf("status = %s", res.Body)
					}
				}},
			{Name: "logins do not ask for a pending factor", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/login",
				RemoteAddr: alice.Addr, Body: map[string]string{"email": alice.Email, "password": apitest.Password}},
				WantStatus: 200, Check: func(t *testing.T, res *apitest.Response) {
					if res.JSON(t)["access_token"] == nil || res.Cookie("refresh_token") == nil {
						t.Fatalf("login = %s", res.Body)
					}
				}},
			{Name: "a wrong first code names the field", Request: apitest.Request{Method: "POST", URL: "/api/v1/users/me/mfa/totp/confirm",
				Token: alice.Token, Body: map[string]string{"code": wrongCode(e, secret)}},
				WantStatus: 400, WantProblem: "validation", Check: func(t *testing.T, res *apitest.Response) {
					if !strings.Contains(string(res.Body), `"field":"code"`) {
						t.Fatalf("problem = %s", res.Body)
					}
				}},
			{Name: "a code that is not six digits fails validation", Request: apitest.Request{Method: "POST", URL: "/api/v1/users/me/mfa/totp/confirm",
				Token: alice.Token, Body: map[string]string{"code": "12ab56"}},
				WantStatus: 400, WantProblem: "validation"},
		})
		var recovery []string
		e.Run(t, []apitest.Scenario{
			{Name: "the first code turns the factor on and returns ten recovery codes", Request: apitest.Request{Method: "POST",
				URL: "/api/v1/users/me/mfa/totp/confirm", Token: alice.Token, Body: map[string]string{"code": e.TOTPCode(t, secret, 0)}},
				WantStatus: 200, WantHeaders: map[string]string{"Cache-Control": "no-store"},
				Check: func(t *testing.T, res *apitest.Response) {
					for _, c := range res.JSON(t)["recovery_codes"].([]any) {
						recovery = append(recovery, c.(string))
					}
					if len(recovery) != 10 {
						t.Fatalf("recovery codes = %s", res.Body)
					}
				}},
			{Name: "enabling the factor revoked the other sessions", Request: apitest.Request{URL: "/api/v1/users/me", Token: laptop},
				WantStatus: 401, WantProblem: "unauthorized"},
			{Name: "the current session stays, and shows the factor", Request: apitest.Request{URL: "/api/v1/users/me", Token: alice.Token},
				WantStatus: 200, Check: func(t *testing.T, res *apitest.Response) {
					if res.JSON(t)["mfa_enabled"] != true {
						t.Fatalf("user = %s", res.Body)
					}
				}},
			{Name: "enrolling again while on is a conflict", Request: apitest.Request{Method: "POST", URL: "/api/v1/users/me/mfa/totp",
				Token: alice.Token, Body: map[string]string{"password": apitest.Password}},
				WantStatus: 409, WantProblem: "conflict"},
			{Name: "the password step now asks for the second factor, with no cookie", Request: apitest.Request{Method: "POST",
				URL: "/api/v1/auth/login", RemoteAddr: alice.Addr, Body: map[string]string{"email": alice.Email, "password": apitest.Password}},
				WantStatus: 200, WantHeaders: map[string]string{"Set-Cookie": "", "Cache-Control": "no-store"},
				Check: func(t *testing.T, res *apitest.Response) {
					b := res.JSON(t)
					if b["mfa_required"] != true || b["expires_in"] != float64(300) || b["mfa_token"] == "" || b["access_token"] != nil {
						t.Fatalf("body = %s", res.Body)
					}
				}},
		})
		if evs := auditActions(t, e, "auth.login.mfa_required"); len(evs) != 1 {
			t.Fatalf("%d mfa_required events", len(evs))
		}

		t.Run("the code that confirmed the factor cannot log in", func(t *testing.T) {
			tok := mfaToken(t, e, alice)
			res := verify(t, e, alice, map[string]string{"mfa_token": tok, "code": e.TOTPCode(t, secret, 0)})
			if res.Status != 401 {
				t.Fatalf("replayed code: %d %s", res.Status, res.Body)
			}
			apitest.AssertProblem(t, res, "unauthorized")
		})
		e.NextStep()
		var cookie *http.Cookie
		t.Run("a current code completes the login exactly as a login does", func(t *testing.T) {
			tok := mfaToken(t, e, alice)
			if res := verify(t, e, alice, map[string]string{"mfa_token": tok, "code": wrongCode(e, secret)}); res.Status != 401 {
				t.Fatalf("wrong code: %d %s", res.Status, res.Body)
			}
			code := e.TOTPCode(t, secret, 0)
			res := verify(t, e, alice, map[string]string{"mfa_token": tok, "code": code[:3] + " " + code[3:]})
			if res.Status != 200 || res.JSON(t)["token_type"] != "Bearer" {
				t.Fatalf("verify: %d %s", res.Status, res.Body)
			}
			cookie = res.Cookie("refresh_token")
			if cookie == nil || !cookie.HttpOnly || cookie.Path != "/api/v1/auth" || cookie.SameSite != http.SameSiteStrictMode {
				t.Fatalf("cookie = %q", res.Header.Get("Set-Cookie"))
			}
			if res := e.Do(t, apitest.Request{URL: "/api/v1/users/me", Token: res.JSON(t)["access_token"].(string)}); res.Status != 200 {
				t.Fatalf("new access token: %d", res.Status)
			}
			if res := refresh(t, e, cookie); res.Status != 200 {
				t.Fatalf("refresh with the new cookie: %d %s", res.Status, res.Body)
			}
			t.Run("the MFA token is single use", func(t *testing.T) {
				e.NextStep()
				res := verify(t, e, alice, map[string]string{"mfa_token": tok, "code": e.TOTPCode(t, secret, 0)})
				if res.Status != 401 || !strings.Contains(string(res.Body), "MFA token") {
					t.Fatalf("spent token: %d %s", res.Status, res.Body)
				}
			})
			t.Run("the same code is refused on a new MFA token", func(t *testing.T) {
				e.Clock.Advance(-30 * time.Second) // back into the step whose code was used
				defer e.NextStep()
				tok := mfaToken(t, e, alice)
				if res := verify(t, e, alice, map[string]string{"mfa_token": tok, "code": code}); res.Status != 401 {
					t.Fatalf("replayed code: %d %s", res.Status, res.Body)
				}
			})
		})
		if evs := auditActions(t, e, "auth.mfa.succeeded"); len(evs) != 1 || !strings.Contains(evs[0].Details, `"method":"totp"`) {
			t.Fatalf("auth.mfa.succeeded events = %+v", evs)
		}
		if evs := auditActions(t, e, "auth.mfa.failed"); len(evs) < 2 {
			t.Fatalf("auth.mfa.failed events = %d, want every refused code audited", len(evs))
		}

		t.Run("a recovery code logs in once", func(t *testing.T) {
			tok := mfaToken(t, e, alice)
			res := verify(t, e, alice, map[string]string{"mfa_token": tok, "recovery_code": strings.ToUpper(recovery[0])})
			if res.Status != 200 || res.Cookie("refresh_token") == nil {
				t.Fatalf("recovery code: %d %s", res.Status, res.Body)
			}
			tok = mfaToken(t, e, alice)
			if res := verify(t, e, alice, map[string]string{"mfa_token": tok, "recovery_code": recovery[0]}); res.Status != 401 {
				t.Fatalf("reused recovery code: %d %s", res.Status, res.Body)
			}
			res = e.Do(t, apitest.Request{URL: "/api/v1/users/me/mfa", Token: alice.Token})
			if res.JSON(t)["recovery_codes_left"] != float64(9) {
				t.Fatalf("status = %s", res.Body)
			}
		})
		t.Run("an expired MFA token is refused", func(t *testing.T) {
			tok := mfaToken(t, e, alice)
			e.Clock.Advance(auth.MFAChallengeTTL)
			res := verify(t, e, alice, map[string]string{"mfa_token": tok, "code": e.TOTPCode(t, secret, 0)})
			if res.Status != 401 {
				t.Fatalf("expired token: %d %s", res.Status, res.Body)
			}
		})
		e.Run(t, []apitest.Scenario{
			{Name: "verify needs exactly one of code and recovery code", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/mfa/verify",
				Body: map[string]string{"mfa_token": "x", "code": "123456", "recovery_code": recovery[1]}},
				WantStatus: 400, WantProblem: "validation"},
			{Name: "verify without either is a validation error", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/mfa/verify",
				Body: map[string]string{"mfa_token": "x"}},
				WantStatus: 400, WantProblem: "validation"},
			{Name: "an unknown MFA token is unauthorized", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/mfa/verify",
				Body: map[string]string{"mfa_token": "not-a-token", "code": "123456"}},
				WantStatus: 401, WantProblem: "unauthorized"},
			{Name: "an access token is not an MFA token", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/mfa/verify",
				Body: map[string]string{"mfa_token": alice.Token[:200], "code": "123456"}},
				WantStatus: 401, WantProblem: "unauthorized"},
		})
	})
}

// wrongCode is a six-digit code that is not valid for secret at any step
// of the accepted window.
func wrongCode(e *apitest.Env, secret string) string {
	valid := map[string]bool{}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		c, _ := totp.Code(secret, e.Clock.Now().Add(d))
		valid[c] = true
	}
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if !valid[c] {
			return c
		}
	}
	panic("unreachable")
}

func TestMFAWrongCodesShareTheLoginLockout(t *testing.T) {
	apitest.Each(t, mfaEnv, func(t *testing.T, e *apitest.Env) {
		alice := e.NewAccount(t, "alice", false)
		secret, _ := e.EnableTOTP(t, alice)

		// Two wrong codes, then the password again: the password step must
		// not reset the count, so one more wrong code locks (budget 3).
		tok := mfaToken(t, e, alice)
		for i := range 2 {
			if res := verify(t, e, alice, map[string]string{"mfa_token": tok, "code": wrongCode(e, secret)}); res.Status != 401 {
				t.Fatalf("wrong code %d: %d %s", i+1, res.Status, res.Body)
			}
		}
		tok = mfaToken(t, e, alice)
		if res := verify(t, e, alice, map[string]string{"mfa_token": tok, "code": wrongCode(e, secret)}); res.Status != 401 {
			t.Fatalf("third wrong code: %d %s", res.Status, res.Body)
		}
		res := verify(t, e, alice, map[string]string{"mfa_token": tok, "code": e.TOTPCode(t, secret, 0)})
		if res.Status != 429 || res.Header.Get("Retry-After") == "" {
			t.Fatalf("right code while locked: %d %s", res.Status, res.Body)
		}
		apitest.AssertProblem(t, res, "too-many-requests")
		if res := passwordStep(t, e, alice); res.Status != 429 {
			t.Fatalf("password step while locked: %d %s", res.Status, res.Body)
		}
		if evs := auditActions(t, e, "auth.mfa.failed"); len(evs) != 4 || !strings.Contains(evs[0].Details, `"reason":"locked"`) {
			t.Fatalf("auth.mfa.failed = %+v", evs)
		}

		// After the lockout the right code works and clears the count.
		e.Clock.Advance(16 * time.Minute)
		if _, res := e.LoginMFA(t, alice, secret); res.Cookie("refresh_token") == nil {
			t.Fatal("no cookie after the lockout ended")
		}
		for range 2 {
			tok := mfaToken(t, e, alice)
			verify(t, e, alice, map[string]string{"mfa_token": tok, "code": wrongCode(e, secret)})
		}
		if _, res := e.LoginMFA(t, alice, secret); res.Status != 200 {
			t.Fatalf("two failures after a clear must not lock: %d", res.Status)
		}
	})
}

func TestMFAPasswordStepsAloneNeverLock(t *testing.T) {
	apitest.Each(t, mfaEnv, func(t *testing.T, e *apitest.Env) {
		alice := e.NewAccount(t, "alice", false)
		e.EnableTOTP(t, alice)
		// A user who abandons the second step again and again is not
		// locked out: a right password takes its own attempt back.
		for i := range 6 {
			if res := passwordStep(t, e, alice); res.Status != 200 {
				t.Fatalf("password step %d: %d %s", i+1, res.Status, res.Body)
			}
		}
	})
}

func TestMFAChallengeDiesWithThePassword(t *testing.T) {
	apitest.Each(t, mfaEnv, func(t *testing.T, e *apitest.Env) {
		alice := e.NewAccount(t, "alice", false)
		secret, _ := e.EnableTOTP(t, alice)
		tok := mfaToken(t, e, alice)
		res := e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/users/me/password", Token: alice.Token,
			Body: map[string]string{"current_password": apitest.Password, "new_password": "Another-Horse-7"}})
		if res.Status != 204 {
			t.Fatalf("change password: %d %s", res.Status, res.Body)
		}
		res = verify(t, e, alice, map[string]string{"mfa_token": tok, "code": e.TOTPCode(t, secret, 0)})
		if res.Status != 401 || !strings.Contains(string(res.Body), "MFA token") {
			t.Fatalf("MFA token from before the password change: %d %s", res.Status, res.Body)
		}
		// A new password does not remove the second factor: whoever reset
		// or changed it still needs the authenticator.
		res = e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/login", RemoteAddr: alice.Addr,
			Body: map[string]string{"email": alice.Email, "password": "Another-Horse-7"}})
		if res.Status != 200 || res.JSON(t)["mfa_required"] != true || res.Cookie("refresh_token") != nil {
			t.Fatalf("login with the new password: %d %s", res.Status, res.Body)
		}
	})
}

func TestMFADisableAndRegenerate(t *testing.T) {
	apitest.Each(t, mfaEnv, func(t *testing.T, e *apitest.Env) {
		alice := e.NewAccount(t, "alice", false)
		secret, recovery := e.EnableTOTP(t, alice)
		phone := e.NewSession(t, alice.ID)
		disable := func(body map[string]string) apitest.Request {
			return apitest.Request{Method: "POST", URL: "/api/v1/users/me/mfa/totp/disable", Token: alice.Token, Body: body}
		}
		var fresh []string
		e.Run(t, []apitest.Scenario{
			{Name: "disabling needs a code or recovery code besides the password", Request: disable(map[string]string{"password": apitest.Password}),
				WantStatus: 400, WantProblem: "validation"},
			{Name: "disabling with a wrong password is forbidden", Request: disable(map[string]string{"password": "Wrong-Password-1", "code": e.TOTPCode(t, secret, 0)}),
				WantStatus: 403, WantProblem: "forbidden"},
			{Name: "disabling with a wrong code is forbidden", Request: disable(map[string]string{"password": apitest.Password, "code": wrongCode(e, secret)}),
				WantStatus: 403, WantProblem: "forbidden", Check: func(t *testing.T, res *apitest.Response) {
					if !strings.Contains(string(res.Body), "authentication code") {
						t.Fatalf("problem = %s", res.Body)
					}
				}},
			{Name: "new recovery codes replace the old ones", Request: apitest.Request{Method: "POST", URL: "/api/v1/users/me/mfa/recovery-codes",
				Token: alice.Token, Body: map[string]string{"password": apitest.Password, "recovery_code": recovery[0]}},
				WantStatus: 200, Check: func(t *testing.T, res *apitest.Response) {
					for _, c := range res.JSON(t)["recovery_codes"].([]any) {
						fresh = append(fresh, c.(string))
					}
					if len(fresh) != 10 || fresh[0] == recovery[0] {
						t.Fatalf("codes = %s", res.Body)
					}
				}},
			{Name: "new recovery codes need the second factor too", Request: apitest.Request{Method: "POST", URL: "/api/v1/users/me/mfa/recovery-codes",
				Token: alice.Token, Body: map[string]string{"password": apitest.Password, "recovery_code": "aaaa-bbbb-cccc-dddd"}},
				WantStatus: 403, WantProblem: "forbidden"},
			{Name: "an old recovery code no longer disables", Request: disable(map[string]string{"password": apitest.Password, "recovery_code": recovery[1]}),
				WantStatus: 403, WantProblem: "forbidden"},
		})
		// Password and second factor right cleared the two failures before
		// them; the two after leave one attempt of the budget of 3.
		e.Run(t, []apitest.Scenario{
			{Name: "password and a new recovery code turn the factor off", Request: disable(map[string]string{"password": apitest.Password, "recovery_code": fresh[0]}),
				WantStatus: 204},
			{Name: "disabling revoked the other sessions", Request: apitest.Request{URL: "/api/v1/users/me", Token: phone},
				WantStatus: 401},
			{Name: "the account shows no factor", Request: apitest.Request{URL: "/api/v1/users/me/mfa", Token: alice.Token},
				WantStatus: 200, Check: func(t *testing.T, res *apitest.Response) {
					b := res.JSON(t)
					if b["enabled"] != false || b["pending"] != false || b["recovery_codes_left"] != float64(0) {
						t.Fatalf("status = %s", res.Body)
					}
				}},
			{Name: "logins take the password alone again", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/login",
				RemoteAddr: alice.Addr, Body: map[string]string{"email": alice.Email, "password": apitest.Password}},
				WantStatus: 200, Check: func(t *testing.T, res *apitest.Response) {
					if res.JSON(t)["access_token"] == nil {
						t.Fatalf("login = %s", res.Body)
					}
				}},
			{Name: "disabling what is off is a conflict", Request: disable(map[string]string{"password": apitest.Password, "code": "123456"}),
				WantStatus: 409, WantProblem: "conflict"},
		})
		if evs := auditActions(t, e, "mfa.totp.disabled"); len(evs) != 4 || evs[0].Outcome != audit.Success {
			t.Fatalf("mfa.totp.disabled events = %+v", evs)
		}
	})
}

func TestMFAAdminReset(t *testing.T) {
	apitest.Each(t, mfaEnv, func(t *testing.T, e *apitest.Env) {
		root := e.NewAccount(t, "root", true)
		alice := e.NewAccount(t, "alice", false)
		bob := e.NewAccount(t, "bob", false)
		e.EnableTOTP(t, alice)
		reset := func(token, id string) apitest.Request {
			return apitest.Request{Method: "DELETE", URL: "/api/v1/users/" + id + "/mfa", Token: token}
		}
		e.Run(t, []apitest.Scenario{
			{Name: "admins see whether an account has a second factor, never its seed", Request: apitest.Request{URL: "/api/v1/users/" + alice.ID, Token: root.Token},
				WantStatus: 200, Check: func(t *testing.T, res *apitest.Response) {
					if res.JSON(t)["mfa_enabled"] != true || strings.Contains(string(res.Body), "secret") {
						t.Fatalf("user = %s", res.Body)
					}
				}},
			{Name: "the account list shows it too", Request: apitest.Request{URL: "/api/v1/users", Token: root.Token},
				WantStatus: 200, Check: func(t *testing.T, res *apitest.Response) {
					for _, it := range res.JSON(t)["items"].([]any) {
						u := it.(map[string]any)
						if (u["id"] == alice.ID) != (u["mfa_enabled"] == true) {
							t.Fatalf("items = %s", res.Body)
						}
					}
				}},
			{Name: "a user cannot reset another's factor", Request: reset(bob.Token, alice.ID), WantStatus: 403, WantProblem: "forbidden"},
			{Name: "an admin cannot reset their own", Request: reset(root.Token, root.ID), WantStatus: 403, WantProblem: "forbidden"},
			{Name: "an account without a factor has nothing to reset", Request: reset(root.Token, bob.ID), WantStatus: 404, WantProblem: "not-found"},
			{Name: "an admin resets a lost factor", Request: reset(root.Token, alice.ID), WantStatus: 204},
			{Name: "the reset revoked the account's sessions", Request: apitest.Request{URL: "/api/v1/users/me", Token: alice.Token}, WantStatus: 401},
			{Name: "the account logs in with its password again", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/login",
				RemoteAddr: alice.Addr, Body: map[string]string{"email": alice.Email, "password": apitest.Password}},
				WantStatus: 200, Check: func(t *testing.T, res *apitest.Response) {
					if res.JSON(t)["access_token"] == nil {
						t.Fatalf("login = %s", res.Body)
					}
				}},
		})
		evs := auditActions(t, e, "mfa.reset_by_admin")
		if len(evs) != 1 || evs[0].ActorID == nil || *evs[0].ActorID != root.ID || *evs[0].TargetID != alice.ID {
			t.Fatalf("mfa.reset_by_admin events = %+v", evs)
		}
	})
}

// A sealed seed is bound to its account: copied onto another account's row
// (say by someone with write access to the database), it does not open, and
// the login fails closed.
func TestMFASeedCopiedToAnotherAccountDoesNotDecrypt(t *testing.T) {
	apitest.Each(t, mfaEnv, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		alice := e.NewAccount(t, "alice", false)
		mallory := e.NewAccount(t, "mallory", false)
		aliceSecret, _ := e.EnableTOTP(t, alice)
		e.EnableTOTP(t, mallory)

		mfa := e.App.Stores.MFA
		a, err := mfa.TOTP(ctx, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mfa.TOTP(ctx, mallory.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(a.Secret, "v1.dev.") || strings.Contains(a.Secret, aliceSecret) {
			t.Fatalf("stored seed %q is not sealed", a.Secret)
		}
		if ok, err := mfa.ResealTOTP(ctx, mallory.ID, m.Secret, a.Secret); !ok || err != nil {
			t.Fatalf("copying the row: %v %v", ok, err)
		}
		if _, err := e.App.Secrets.Open(a.Secret, []byte("mfa_totp.secret:"+mallory.ID)); err == nil {
			t.Fatal("alice's seed opened for mallory's row")
		}
		tok := mfaToken(t, e, mallory)
		res := verify(t, e, mallory, map[string]string{"mfa_token": tok, "code": e.TOTPCode(t, aliceSecret, 0)})
		if res.Status != 500 || res.Cookie("refresh_token") != nil {
			t.Fatalf("login with the copied seed: %d %s", res.Status, res.Body)
		}
		if !strings.Contains(e.Logs.String(), "open TOTP seed of "+mallory.ID) {
			t.Fatal("the log does not say which seed failed to open")
		}
		// Alice's own row is untouched and still works.
		if _, res := e.LoginMFA(t, alice, aliceSecret); res.Status != 200 {
			t.Fatalf("alice: %d", res.Status)
		}
	})
}

func TestMFAOutcomesAreCounted(t *testing.T) {
	e := apitest.New(t, "sqlite", mfaEnv)
	alice := e.NewAccount(t, "alice", false)
	secret, _ := e.EnableTOTP(t, alice)
	tok := mfaToken(t, e, alice)
	verify(t, e, alice, map[string]string{"mfa_token": tok, "code": wrongCode(e, secret)})
	e.LoginMFA(t, alice, secret)

	rec := httptest.NewRecorder()
	e.App.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`auth_mfa_events_total{event="enrol",outcome="success"} 1`,
		`auth_mfa_events_total{event="confirm",outcome="success"} 1`,
		`auth_mfa_events_total{event="challenge",outcome="success"} 2`,
		`auth_mfa_events_total{event="verify",outcome="failure"} 1`,
		`auth_mfa_events_total{event="verify",outcome="success"} 1`,
		`auth_logins_total{outcome="failed"} 1`,
		`auth_logins_total{outcome="succeeded"} 2`, // the first login, then the two-step one
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// One code, sent at once on several MFA tokens of the same account: exactly
// one request logs in (the time step is claimed by a conditional write).
func TestMFAConcurrentReplayLogsInOnce(t *testing.T) {
	apitest.Each(t, mfaEnv, func(t *testing.T, e *apitest.Env) {
		alice := e.NewAccount(t, "alice", false)
		secret, _ := e.EnableTOTP(t, alice)
		const n = 3 // within the failure budget, so no attempt is refused for lockout
		toks := make([]string, n)
		for i := range toks {
			toks[i] = mfaToken(t, e, alice)
		}
		code := e.TOTPCode(t, secret, 0)
		statuses := make(chan int, n)
		var wg sync.WaitGroup
		for _, tok := range toks {
			wg.Go(func() {
				res := e.Serve(t, apitest.NewHTTPRequest(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/mfa/verify",
					RemoteAddr: alice.Addr, Body: map[string]string{"mfa_token": tok, "code": code}}))
				statuses <- res.Status
			})
		}
		wg.Wait()
		close(statuses)
		count := map[int]int{}
		for s := range statuses {
			count[s]++
		}
		if count[200] != 1 || count[401] != n-1 {
			t.Fatalf("statuses = %v, want one 200 and %d 401", count, n-1)
		}
	})
}

package api_test

import (
	"testing"

	"secureapi/internal/api/apitest"
)

func verifyEnv(require string) map[string]string {
	env := map[string]string{"REQUIRE_VERIFIED_EMAIL": require}
	for k, v := range authEnv {
		env[k] = v
	}
	return env
}

func registerReq(email, username string) apitest.Request {
	return apitest.Request{Method: "POST", URL: "/api/v1/auth/register",
		Body: map[string]any{"email": email, "username": username, "password": apitest.Password}}
}

func verifyReq(token string) apitest.Request {
	return apitest.Request{Method: "POST", URL: "/api/v1/auth/email/verify", Body: map[string]any{"token": token}}
}

// With REQUIRE_VERIFIED_EMAIL on, registration cannot tell which addresses
// have accounts, and an account logs in only once its mailbox is proven.
func TestRegistrationWithRequiredVerification(t *testing.T) {
	apitest.Each(t, verifyEnv("true"), func(t *testing.T, e *apitest.Env) {
		loginReq := apitest.Request{Method: "POST", URL: "/api/v1/auth/login",
			Body: map[string]any{"email": "alice@example.com", "password": apitest.Password}}
		var fresh, taken *apitest.Response
		e.Run(t, []apitest.Scenario{
			{Name: "a new address is accepted", Request: registerReq("alice@example.com", "alice"), WantStatus: 202,
				Check: func(t *testing.T, res *apitest.Response) { fresh = res }},
			{Name: "a taken address gets the same answer", Request: registerReq("Alice@example.com", "alice2"), WantStatus: 202,
				Check: func(t *testing.T, res *apitest.Response) { taken = res }},
			{Name: "a taken username is still a conflict", Request: registerReq("other@example.com", "alice"),
				WantStatus: 409, WantProblem: "conflict"},
			{Name: "the right password for an unverified account is a 403 without a session", Request: loginReq,
				WantStatus: 403, WantProblem: "email-unverified", WantHeaders: map[string]string{"Set-Cookie": ""}},
		})
		if string(fresh.Body) != string(taken.Body) {
			t.Fatalf("answers differ: %s vs %s", fresh.Body, taken.Body)
		}
		var exists, verify int
		for _, m := range e.MailsTo(t, "alice@example.com") {
			switch m.Subject {
			case "You already have an account":
				exists++
			case "Verify your email address":
				verify++
			}
		}
		// Registration and the refused login each mailed a link.
		if exists != 1 || verify != 2 {
			t.Fatalf("mails: %d account-exists, %d verification", exists, verify)
		}
		tok := e.LinkToken(t, "alice@example.com", "/verify-email")
		e.Run(t, []apitest.Scenario{
			{Name: "a wrong password is still a plain 401", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/login",
				Body: map[string]any{"email": "alice@example.com", "password": "Wrong-Horse-1"}},
				WantStatus: 401, WantProblem: "unauthorized"},
			{Name: "an unknown token is refused", Request: verifyReq("bm90LWEtdG9rZW4"), WantStatus: 400, WantProblem: "validation"},
			{Name: "the link verifies the address", Request: verifyReq(tok), WantStatus: 204},
			{Name: "it works once", Request: verifyReq(tok), WantStatus: 400, WantProblem: "validation"},
			{Name: "now the login works", Request: loginReq, WantStatus: 200},
		})
	})
}

// With it off (the development default) registration answers 201 and
// logins work before verification; links are mailed all the same.
func TestVerificationWhenNotRequired(t *testing.T) {
	apitest.Each(t, verifyEnv("false"), func(t *testing.T, e *apitest.Env) {
		alice := e.NewAccount(t, "alice", false)
		first := e.LinkToken(t, alice.Email, "/verify-email")
		if first == "" {
			t.Fatal("registration mailed no verification link")
		}
		me := apitest.Request{URL: "/api/v1/users/me", Token: alice.Token}
		e.Run(t, []apitest.Scenario{
			{Name: "a taken address is a conflict", Request: registerReq(alice.Email, "alice2"), WantStatus: 409, WantProblem: "conflict"},
			{Name: "unverified at first", Request: me, WantStatus: 200, Check: func(t *testing.T, res *apitest.Response) {
				if v := res.JSON(t)["email_verified_at"]; v != nil {
					t.Fatalf("email_verified_at = %v", v)
				}
			}},
			{Name: "resend needs a session", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/email/verify/resend"},
				WantStatus: 401, WantProblem: "unauthorized"},
			{Name: "resend", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/email/verify/resend", Token: alice.Token},
				WantStatus: 202},
		})
		second := e.LinkToken(t, alice.Email, "/verify-email")
		e.Run(t, []apitest.Scenario{
			{Name: "the newer link voids the older", Request: verifyReq(first), WantStatus: 400, WantProblem: "validation"},
			{Name: "the newer link verifies", Request: verifyReq(second), WantStatus: 204},
			{Name: "verified", Request: me, WantStatus: 200, Check: func(t *testing.T, res *apitest.Response) {
				if v := res.JSON(t)["email_verified_at"]; v == nil {
					t.Fatal("email_verified_at is null")
				}
			}},
			{Name: "resend does nothing once verified", Request: apitest.Request{Method: "POST", URL: "/api/v1/auth/email/verify/resend", Token: alice.Token},
				WantStatus: 202},
		})
		if n := len(e.MailsTo(t, alice.Email)); n != 2 {
			t.Fatalf("%d mails, want 2 verification links", n)
		}
	})
}

// A completed password reset proves the mailbox too, so an account created
// before verification existed is never stuck.
func TestPasswordResetVerifiesTheAddress(t *testing.T) {
	apitest.Each(t, verifyEnv("true"), func(t *testing.T, e *apitest.Env) {
		if res := e.Do(t, registerReq("bob@example.com", "bob")); res.Status != 202 {
			t.Fatalf("register: %d %s", res.Status, res.Body)
		}
		e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/password/forgot", Body: map[string]any{"email": "bob@example.com"}})
		tok := e.LinkToken(t, "bob@example.com", "/reset-password")
		res := e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/password/reset",
			Body: map[string]any{"token": tok, "new_password": "Brand-New-Pass-7"}})
		if res.Status != 204 {
			t.Fatalf("reset: %d %s", res.Status, res.Body)
		}
		login(t, e, "bob@example.com", "Brand-New-Pass-7")
	})
}

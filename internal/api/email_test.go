package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"secureapi/internal/api/apitest"
)

func changeEmail(token, newEmail, password string) apitest.Request {
	return apitest.Request{Method: "POST", URL: "/api/v1/users/me/email", Token: token,
		Body: map[string]any{"new_email": newEmail, "current_password": password}}
}

func confirmEmail(token, mailToken string) apitest.Request {
	return apitest.Request{Method: "POST", URL: "/api/v1/users/me/email/confirm", Token: token,
		Body: map[string]any{"token": mailToken}}
}

func TestEmailChange(t *testing.T) {
	apitest.Each(t, authEnv, func(t *testing.T, e *apitest.Env) {
		alice := e.NewAccount(t, "alice", false)
		bob := e.NewAccount(t, "bob", false)
		laptop := e.NewSession(t, alice.ID)

		var taken, free *apitest.Response
		e.Run(t, []apitest.Scenario{
			{Name: "a wrong current password is refused", Request: changeEmail(alice.Token, "alice@example.org", "Wrong-Horse-9"),
				WantStatus: 403, WantProblem: "forbidden"},
			{Name: "the password is required", Request: apitest.Request{Method: "POST", URL: "/api/v1/users/me/email", Token: alice.Token,
				Body: map[string]any{"new_email": "alice@example.org"}},
				WantStatus: 400, WantProblem: "validation", Check: func(t *testing.T, res *apitest.Response) {
					hasFieldError(t, res, "body", "current_password")
				}},
			{Name: "the new address must be an address", Request: changeEmail(alice.Token, "not-an-address", apitest.Password),
				WantStatus: 400, WantProblem: "validation", Check: func(t *testing.T, res *apitest.Response) {
					hasFieldError(t, res, "body", "new_email")
				}},
			{Name: "anonymous callers get 401", Request: changeEmail("", "alice@example.org", apitest.Password),
				WantStatus: 401, WantProblem: "unauthorized"},
			{Name: "a taken address is accepted like any other", Request: changeEmail(alice.Token, "BOB@example.com", apitest.Password),
				WantStatus: 202, Check: func(t *testing.T, res *apitest.Response) { taken = res }},
			{Name: "a free address is accepted", Request: changeEmail(alice.Token, "Alice@Example.org", apitest.Password),
				WantStatus: 202, Check: func(t *testing.T, res *apitest.Response) { free = res }},
		})
		if string(taken.Body) != string(free.Body) || taken.Header.Get("Content-Type") != free.Header.Get("Content-Type") {
			t.Fatalf("answers differ: taken %q, free %q", taken.Body, free.Body)
		}
		// Registration mailed each a verification link; nothing else went to bob.
		if n := len(e.MailsTo(t, bob.Email)); n != 1 {
			t.Fatalf("the owner of the taken address got %d mails", n)
		}
		var notices []apitest.Mail
		for _, m := range e.MailsTo(t, alice.Email) {
			if strings.Contains(m.Subject, "about to change") {
				notices = append(notices, m)
			}
		}
		if len(notices) != 2 || strings.Contains(notices[1].Body, "#token=") || !strings.Contains(notices[1].Body, "a***@example.org") {
			t.Fatalf("notices to the current address: %+v", notices)
		}
		tok := e.LinkToken(t, "alice@example.org", "/confirm-email")
		if tok == "" {
			t.Fatal("no confirmation link mailed to the new address")
		}
		if strings.Contains(e.Logs.String(), tok) {
			t.Fatal("the confirmation token was logged")
		}

		e.Run(t, []apitest.Scenario{
			{Name: "nothing changes before confirmation", Request: apitest.Request{URL: "/api/v1/users/me", Token: alice.Token},
				WantStatus: 200, Check: func(t *testing.T, res *apitest.Response) {
					if m := res.JSON(t); m["email"] != alice.Email || m["email_verified_at"] != nil {
						t.Fatalf("me = %s", res.Body)
					}
				}},
			{Name: "another account cannot use the link", Request: confirmEmail(bob.Token, tok),
				WantStatus: 400, WantProblem: "validation", Check: func(t *testing.T, res *apitest.Response) {
					hasFieldError(t, res, "body", "token")
				}},
			{Name: "an unknown token is refused", Request: confirmEmail(alice.Token, "bm90LWEtdG9rZW4"),
				WantStatus: 400, WantProblem: "validation"},
			{Name: "the owner confirms", Request: confirmEmail(alice.Token, tok),
				WantStatus: 200, Check: func(t *testing.T, res *apitest.Response) {
					if m := res.JSON(t); m["email"] != "alice@example.org" || m["email_verified_at"] == nil {
						t.Fatalf("confirmed = %s", res.Body)
					}
				}},
			{Name: "the link works once", Request: confirmEmail(alice.Token, tok), WantStatus: 400, WantProblem: "validation"},
			{Name: "the current session stays", Request: apitest.Request{URL: "/api/v1/users/me", Token: alice.Token}, WantStatus: 200},
			{Name: "every other session is revoked", Request: apitest.Request{URL: "/api/v1/users/me", Token: laptop},
				WantStatus: 401, WantProblem: "unauthorized"},
			{Name: "bob is unaffected", Request: apitest.Request{URL: "/api/v1/users/me", Token: bob.Token}, WantStatus: 200},
		})
		login(t, e, "alice@example.org", apitest.Password)
		if res := e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/login",
			Body: map[string]any{"email": alice.Email, "password": apitest.Password}}); res.Status != http.StatusUnauthorized {
			t.Fatalf("login with the old address: %d", res.Status)
		}
	})
}

func TestEmailChangeLinks(t *testing.T) {
	apitest.Each(t, authEnv, func(t *testing.T, e *apitest.Env) {
		alice := e.NewAccount(t, "alice", false)

		// A newer link voids the older one.
		if res := e.Do(t, changeEmail(alice.Token, "first@example.org", apitest.Password)); res.Status != 202 {
			t.Fatalf("request: %d %s", res.Status, res.Body)
		}
		first := e.LinkToken(t, "first@example.org", "/confirm-email")
		if res := e.Do(t, changeEmail(alice.Token, "carol@example.org", apitest.Password)); res.Status != 202 {
			t.Fatalf("request: %d %s", res.Status, res.Body)
		}
		second := e.LinkToken(t, "carol@example.org", "/confirm-email")
		if res := e.Do(t, confirmEmail(alice.Token, first)); res.Status != 400 {
			t.Fatalf("superseded link: %d %s", res.Status, res.Body)
		}

		// The address was taken while the link travelled: 409, link unspent.
		register(t, e, "carol@example.org", "carol")
		res := e.Do(t, confirmEmail(alice.Token, second))
		if res.Status != 409 {
			t.Fatalf("confirm a taken address: %d %s", res.Status, res.Body)
		}
		apitest.AssertProblem(t, res, "conflict")

		// A pending reset link dies with the change.
		if res := e.Do(t, changeEmail(alice.Token, "dave@example.org", apitest.Password)); res.Status != 202 {
			t.Fatalf("request: %d %s", res.Status, res.Body)
		}
		change := e.LinkToken(t, "dave@example.org", "/confirm-email")
		e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/password/forgot", Body: map[string]any{"email": alice.Email}})
		reset := e.LinkToken(t, alice.Email, "/reset-password")
		if reset == "" {
			t.Fatal("no reset link")
		}
		if res := e.Do(t, confirmEmail(alice.Token, change)); res.Status != 200 {
			t.Fatalf("confirm: %d %s", res.Status, res.Body)
		}
		res = e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/password/reset",
			Body: map[string]any{"token": reset, "new_password": "Brand-New-Pass-7"}})
		if res.Status != 400 {
			t.Fatalf("reset link from before the change: %d %s", res.Status, res.Body)
		}

		// Links expire.
		if res := e.Do(t, changeEmail(alice.Token, "erin@example.org", apitest.Password)); res.Status != 202 {
			t.Fatalf("request: %d %s", res.Status, res.Body)
		}
		late := e.LinkToken(t, "erin@example.org", "/confirm-email")
		e.Clock.Advance(time.Hour + time.Minute)
		if res := e.Do(t, confirmEmail(e.NewSession(t, alice.ID), late)); res.Status != 400 {
			t.Fatalf("expired link: %d %s", res.Status, res.Body)
		}
	})
}

// An attacker holding only a stolen access token tries the old takeover:
// point the account at their own mailbox, then reset the password there. It
// fails at the first step, and the owner hears about every attempt.
func TestStolenAccessTokenCannotTakeTheAccount(t *testing.T) {
	apitest.Each(t, authEnv, func(t *testing.T, e *apitest.Env) {
		alice := e.NewAccount(t, "alice", false)
		stolen := alice.Token
		const mallory = "mallory@evil.example"

		res := e.Do(t, apitest.Request{Method: "PATCH", URL: "/api/v1/users/me", Token: stolen, Body: map[string]any{"email": mallory}})
		if res.Status != 400 {
			t.Fatalf("PATCH /me with an email: %d %s", res.Status, res.Body)
		}
		for _, guess := range []string{"", "Password1", "Correct-Horse-8"} {
			body := map[string]any{"new_email": mallory}
			if guess != "" {
				body["current_password"] = guess
			}
			res := e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/users/me/email", Token: stolen, Body: body})
			if res.Status != 400 && res.Status != 403 {
				t.Fatalf("email change with guess %q: %d %s", guess, res.Status, res.Body)
			}
		}
		res = e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/password/forgot", Body: map[string]any{"email": mallory}})
		if res.Status != 202 {
			t.Fatalf("forgot: %d", res.Status)
		}
		if ms := e.MailsTo(t, mallory); len(ms) != 0 {
			t.Fatalf("the attacker's mailbox got %d mails: %+v", len(ms), ms)
		}
		me := e.Do(t, apitest.Request{URL: "/api/v1/users/me", Token: stolen}).JSON(t)
		if me["email"] != alice.Email {
			t.Fatalf("address changed to %v", me["email"])
		}
	})
}

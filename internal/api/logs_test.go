package api_test

import (
	"net/http"
	"strings"
	"testing"

	"secureapi/internal/api/apitest"
)

// A whole account life cycle leaves no password, token, cookie or full email
// in the log, on any line, at debug level.
func TestLogsHoldNoSecrets(t *testing.T) {
	apitest.Each(t, authEnv, func(t *testing.T, e *apitest.Env) {
		const email, pw, newPW = "secretive@example.com", alicePassword, "Newer-Horse-88"
		register(t, e, email, "secretive")
		s := login(t, e, email, pw)
		rot := refresh(t, e, s.cookie)
		if rot.Status != http.StatusOK {
			t.Fatalf("refresh: %d", rot.Status)
		}
		e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/login", Body: map[string]any{"email": email, "password": "Wrong-" + pw}})
		e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/password/forgot", Body: map[string]any{"email": email}})
		tokens := outboxTokens(t, e)
		if len(tokens) != 1 {
			t.Fatalf("reset mails: %d", len(tokens))
		}
		if res := e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/password/reset",
			Body: map[string]any{"token": tokens[0], "new_password": newPW}}); res.Status != http.StatusNoContent {
			t.Fatalf("reset: %d %s", res.Status, res.Body)
		}
		// A request whose query string carries a secret-looking value.
		e.Do(t, apitest.Request{URL: "/api/v1/users?q=" + pw, Token: s.access})

		logs := e.Logs.String()
		if !strings.Contains(logs, "s***@example.com") {
			t.Fatal("the log has no masked email at all; is it written?")
		}
		for name, secret := range map[string]string{
			"password": pw, "new password": newPW, "access token": s.access, "refresh cookie": s.cookie.Value,
			"rotated cookie": rot.Cookie("refresh_token").Value, "reset token": tokens[0], "full email": email,
		} {
			if strings.Contains(logs, secret) {
				t.Errorf("the log contains the %s", name)
			}
		}
	})
}

// Two-factor login and personal access tokens leave no seed, code, recovery
// code, MFA token or access token in the log.
func TestLogsHoldNoSecondFactorOrTokenSecrets(t *testing.T) {
	apitest.Each(t, authEnv, func(t *testing.T, e *apitest.Env) {
		a := e.NewAccount(t, "secretive", false)
		secret, recovery := e.EnableTOTP(t, a)
		mfa := mfaToken(t, e, a)
		code := e.TOTPCode(t, secret, 0)
		if res := verify(t, e, a, map[string]string{"mfa_token": mfa, "code": code}); res.Status != http.StatusOK {
			t.Fatalf("verify: %d %s", res.Status, res.Body)
		}
		tok := mfaToken(t, e, a)
		verify(t, e, a, map[string]string{"mfa_token": tok, "recovery_code": recovery[0]})
		pat, _ := newPAT(t, e, a.Token, map[string]any{"name": "ci", "scopes": []string{"files:read"}})
		e.Do(t, apitest.Request{URL: "/api/v1/files", Token: pat})
		e.Do(t, apitest.Request{URL: "/api/v1/users/me/tokens", Token: pat}) // refused: 403

		logs := e.Logs.String()
		for name, s := range map[string]string{
			"TOTP secret": secret, "recovery code": recovery[0], "MFA token": mfa, "second MFA token": tok,
			"personal access token": pat, "token body": pat[len("sapat_"):],
		} {
			if strings.Contains(logs, s) {
				t.Errorf("the log contains the %s", name)
			}
		}
		if strings.Contains(logs, `"`+code+`"`) {
			t.Error("the log contains the TOTP code")
		}
	})
}

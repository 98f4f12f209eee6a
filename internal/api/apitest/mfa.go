package apitest

import (
	"net/http"
	"testing"
	"time"

	"secureapi/internal/platform/totp"
)

// TOTPCode is the current code of secret by the app's clock, d from now.
func (e *Env) TOTPCode(t testing.TB, secret string, d time.Duration) string {
	t.Helper()
	code, err := totp.Code(secret, e.Clock.Now().Add(d))
	if err != nil {
		t.Fatalf("TOTP code: %v", err)
	}
	return code
}

// NextStep moves the app's clock into the next TOTP time step, so that a
// new code is accepted after the current one was used.
func (e *Env) NextStep() { e.Clock.Advance(totp.Period) }

// EnableTOTP enrols and confirms an authenticator for a through the API and
// returns its secret and recovery codes. The clock then moves to the next
// time step, so the code used to confirm is not the current one any more.
func (e *Env) EnableTOTP(t testing.TB, a Account) (secret string, recovery []string) {
	t.Helper()
	res := e.Do(t, Request{Method: "POST", URL: "/api/v1/users/me/mfa/totp", Token: a.Token, RemoteAddr: a.Addr,
		Body: map[string]string{"password": Password}})
	if res.Status != http.StatusCreated {
		t.Fatalf("enrol TOTP for %s: %d %s", a.Email, res.Status, res.Body)
	}
	secret = res.JSON(t)["secret"].(string)
	res = e.Do(t, Request{Method: "POST", URL: "/api/v1/users/me/mfa/totp/confirm", Token: a.Token, RemoteAddr: a.Addr,
		Body: map[string]string{"code": e.TOTPCode(t, secret, 0)}})
	if res.Status != http.StatusOK {
		t.Fatalf("confirm TOTP for %s: %d %s", a.Email, res.Status, res.Body)
	}
	for _, c := range res.JSON(t)["recovery_codes"].([]any) {
		recovery = append(recovery, c.(string))
	}
	e.NextStep()
	return secret, recovery
}

// LoginMFA runs both login steps for an account with a second factor and
// returns the access token and the response of the second step.
func (e *Env) LoginMFA(t testing.TB, a Account, secret string) (string, *Response) {
	t.Helper()
	res := e.Do(t, Request{Method: "POST", URL: "/api/v1/auth/login", RemoteAddr: a.Addr,
		Body: map[string]string{"email": a.Email, "password": Password}})
	if res.Status != http.StatusOK || res.JSON(t)["mfa_required"] != true {
		t.Fatalf("password step of %s: %d %s", a.Email, res.Status, res.Body)
	}
	mfaToken := res.JSON(t)["mfa_token"].(string)
	res = e.Do(t, Request{Method: "POST", URL: "/api/v1/auth/mfa/verify", RemoteAddr: a.Addr,
		Body: map[string]string{"mfa_token": mfaToken, "code": e.TOTPCode(t, secret, 0)}})
	if res.Status != http.StatusOK {
		t.Fatalf("second step of %s: %d %s", a.Email, res.Status, res.Body)
	}
	e.NextStep()
	return res.JSON(t)["access_token"].(string), res
}

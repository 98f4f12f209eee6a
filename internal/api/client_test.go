package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"secureapi/gen/client"
	"secureapi/internal/api/apitest"
)

// The Go client generated from openapi.yaml talks to the real server: the
// spec is exact enough for generated clients to work without hand fixes.
func TestGeneratedClient(t *testing.T) {
	e := apitest.New(t, "sqlite", nil)
	srv := httptest.NewServer(e.App.Handler)
	defer srv.Close()
	ctx := context.Background()
	c, err := client.NewClientWithResponses(srv.URL)
	if err != nil {
		t.Fatal(err)
	}

	reg, err := c.RegisterWithResponse(ctx, client.RegisterJSONRequestBody{
		Email: "gen@example.com", Username: "gen", Password: apitest.Password,
	})
	if err != nil || reg.JSON201 == nil || reg.JSON201.Username != "gen" {
		t.Fatalf("register: %v %d %s", err, reg.StatusCode(), reg.Body)
	}
	dup, err := c.RegisterWithResponse(ctx, client.RegisterJSONRequestBody{
		Email: "gen@example.com", Username: "other", Password: apitest.Password,
	})
	if err != nil || dup.ApplicationproblemJSON409 == nil || dup.ApplicationproblemJSON409.Status != http.StatusConflict {
		t.Fatalf("duplicate register: %v %d %s", err, dup.StatusCode(), dup.Body)
	}
	login, err := c.LoginWithResponse(ctx, client.LoginJSONRequestBody{Email: "gen@example.com", Password: apitest.Password})
	if err != nil || login.JSON200 == nil {
		t.Fatalf("login: %v %d %s", err, login.StatusCode(), login.Body)
	}
	// A login answers tokens or, for an account with a second factor, an
	// MFA challenge; this account has none.
	toks, err := login.JSON200.AsTokenResponse()
	if err != nil || toks.TokenType != client.Bearer {
		t.Fatalf("login: %v %s", err, login.Body)
	}
	bearer := func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+toks.AccessToken)
		return nil
	}
	me, err := c.GetMeWithResponse(ctx, bearer)
	if err != nil || me.JSON200 == nil || me.JSON200.Id.String() != reg.JSON201.Id.String() {
		t.Fatalf("me: %v %d %s", err, me.StatusCode(), me.Body)
	}
	anon, err := c.GetMeWithResponse(ctx)
	if err != nil || anon.ApplicationproblemJSON401 == nil {
		t.Fatalf("anonymous me: %v %d %s", err, anon.StatusCode(), anon.Body)
	}
}

package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"secureapi/internal/api/apitest"
	"secureapi/internal/app"
	"secureapi/internal/auth"
)

// revocationBound is how soon a revocation on one instance must hold on
// every other one.
const revocationBound = time.Second

// Two instances on one database. Each way of ending a session's rights is
// made on A after both instances have served (and cached) the victim's
// access token: A refuses the token at once, B within a second.
func TestRevocationReachesEveryInstance(t *testing.T) {
	apitest.Each(t, authEnv, func(t *testing.T, a *apitest.Env) {
		b := a.Twin(t, app.Options{})
		admin := a.NewAccount(t, "revoker", true)

		cases := []struct {
			name   string
			admin  bool   // the victim is an admin
			probe  string // what the victim's token is tried on
			refuse int    // the status once revoked
			revoke func(t *testing.T, victim apitest.Account, s session)
		}{
			{name: "logout", revoke: func(t *testing.T, _ apitest.Account, s session) {
				want(t, a.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/logout", Cookies: []*http.Cookie{s.cookie},
					Headers: map[string]string{"Origin": appOrigin}}), 204)
			}},
			{name: "session revoked by its owner", revoke: func(t *testing.T, _ apitest.Account, s session) {
				list := sessions(t, a, s.access).JSON(t)["items"].([]any)
				for _, it := range list {
					if it := it.(map[string]any); it["current"] == true {
						want(t, a.Do(t, apitest.Request{Method: "DELETE", URL: "/api/v1/auth/sessions/" + it["id"].(string), Token: s.access}), 204)
					}
				}
			}},
			{name: "password change from another session", revoke: func(t *testing.T, v apitest.Account, _ session) {
				want(t, a.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/users/me/password", Token: v.Token, RemoteAddr: v.Addr,
					Body: map[string]string{"current_password": apitest.Password, "new_password": "Another-Horse-77"}}), 204)
			}},
			{name: "deactivation", revoke: func(t *testing.T, v apitest.Account, _ session) {
				want(t, a.Do(t, apitest.Request{Method: "PATCH", URL: "/api/v1/users/" + v.ID, Token: admin.Token,
					Body: map[string]any{"is_active": false}}), 200)
			}},
			{name: "deletion", revoke: func(t *testing.T, v apitest.Account, _ session) {
				want(t, a.Do(t, apitest.Request{Method: "DELETE", URL: "/api/v1/users/" + v.ID, Token: admin.Token}), 204)
			}},
			{name: "refresh token reuse", revoke: func(t *testing.T, _ apitest.Account, s session) {
				want(t, refresh(t, a, s.cookie), 200)
				a.Clock.Advance(11 * time.Second) // past the reuse grace
				want(t, refresh(t, a, s.cookie), 401)
			}},
			{name: "demotion ends admin rights", admin: true, probe: "/api/v1/users", refuse: 403,
				revoke: func(t *testing.T, v apitest.Account, _ session) {
					want(t, a.Do(t, apitest.Request{Method: "PATCH", URL: "/api/v1/users/" + v.ID, Token: admin.Token,
						Body: map[string]any{"role": "user"}}), 200)
				}},
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				probe, refuse := tc.probe, tc.refuse
				if probe == "" {
					probe, refuse = "/api/v1/users/me", 401
				}
				victim := a.NewAccount(t, "victim"+string(rune('a'+i)), tc.admin)
				s := login(t, a, victim.Email, apitest.Password)
				for _, e := range []*apitest.Env{a, b, a, b} {
					want(t, e.Do(t, apitest.Request{URL: probe, Token: s.access}), 200)
				}

				tc.revoke(t, victim, s)
				want(t, a.Do(t, apitest.Request{URL: probe, Token: s.access}), refuse)
				revoked := time.Now()
				for {
					res := b.Do(t, apitest.Request{URL: probe, Token: s.access})
					if res.Status == refuse {
						t.Logf("B refused after %v", time.Since(revoked).Round(time.Millisecond))
						break
					}
					if res.Status != 200 || time.Since(revoked) > revocationBound {
						t.Fatalf("B still answers %d %v after the revocation on A", res.Status, time.Since(revoked))
					}
					time.Sleep(20 * time.Millisecond)
				}
			})
		}
	})
}

// cutFeed is a change feed that can be made to fail, as when the database
// connection that carries it is lost.
type cutFeed struct {
	auth.Feed
	down atomic.Bool
}

func (f *cutFeed) Changes(ctx context.Context, cursor int64) ([]auth.Change, int64, error) {
	if f.down.Load() {
		return nil, cursor, errors.New("change feed cut")
	}
	return f.Feed.Changes(ctx, cursor)
}

// When B cannot read the change feed, it checks every request against the
// database: a revocation made on A holds on B at once, with no wait.
func TestRevocationWithoutFeedFailsClosed(t *testing.T) {
	apitest.Each(t, authEnv, func(t *testing.T, a *apitest.Env) {
		feed := &cutFeed{}
		b := a.Twin(t, app.Options{Feed: func(f auth.Feed) auth.Feed { feed.Feed = f; return feed }})
		victim := a.NewAccount(t, "cutoff", false)
		s := login(t, a, victim.Email, apitest.Password)

		for !b.App.View.Fresh() {
			time.Sleep(10 * time.Millisecond)
		}
		want(t, b.Do(t, apitest.Request{URL: "/api/v1/users/me", Token: s.access}), 200)
		hits, _, _ := b.App.View.Stats()
		want(t, b.Do(t, apitest.Request{URL: "/api/v1/users/me", Token: s.access}), 200)
		if h, _, _ := b.App.View.Stats(); h != hits+1 {
			t.Fatalf("a current feed should serve the second request from the view (hits %d -> %d)", hits, h)
		}

		feed.down.Store(true)
		for b.App.View.Fresh() {
			time.Sleep(10 * time.Millisecond)
		}
		_, _, fallbacks := b.App.View.Stats()
		want(t, a.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/logout", Cookies: []*http.Cookie{s.cookie},
			Headers: map[string]string{"Origin": appOrigin}}), 204)
		want(t, b.Do(t, apitest.Request{URL: "/api/v1/users/me", Token: s.access}), 401)
		if _, _, f := b.App.View.Stats(); f != fallbacks+1 {
			t.Fatalf("B should have checked the database (fallbacks %d -> %d)", fallbacks, f)
		}

		// Back up: B starts over from an empty view and keeps refusing.
		feed.down.Store(false)
		for !b.App.View.Fresh() {
			time.Sleep(10 * time.Millisecond)
		}
		want(t, b.Do(t, apitest.Request{URL: "/api/v1/users/me", Token: s.access}), 401)
		other := login(t, a, victim.Email, apitest.Password)
		want(t, b.Do(t, apitest.Request{URL: "/api/v1/users/me", Token: other.access}), 200)
		for _, line := range []string{"session change feed unavailable: every request checks the database", "session change feed back"} {
			if !strings.Contains(b.Logs.String(), line) {
				t.Errorf("B's log lacks %q", line)
			}
		}
	})
}

func want(t *testing.T, res *apitest.Response, status int) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("got %d, want %d: %s", res.Status, status, res.Body)
	}
}

// muteFeed reads the feed but passes on no change: the worst a lagging feed
// can do within its bound.
type muteFeed struct{ auth.Feed }

func (f muteFeed) Changes(ctx context.Context, cursor int64) ([]auth.Change, int64, error) {
	_, next, err := f.Feed.Changes(ctx, cursor)
	return nil, next, err
}

// While an instance still holds a deleted account's session as live (at
// most a second), a read may still show the cached account, and every
// write is refused as unauthenticated: never a 404 for its own account,
// never a 500 for a row that refers to it.
func TestDeletedCallerInTheWindow(t *testing.T) {
	apitest.Each(t, authEnv, func(t *testing.T, a *apitest.Env) {
		b := a.Twin(t, app.Options{Feed: func(f auth.Feed) auth.Feed { return muteFeed{f} }})
		admin := a.NewAccount(t, "windowadmin", true)
		victim := a.NewAccount(t, "windowvictim", false)
		for !b.App.View.Fresh() {
			time.Sleep(10 * time.Millisecond)
		}
		want(t, b.Do(t, apitest.Request{URL: "/api/v1/users/me", Token: victim.Token}), 200)
		want(t, a.Do(t, apitest.Request{Method: "DELETE", URL: "/api/v1/users/" + victim.ID, Token: admin.Token}), 204)

		for _, req := range []apitest.Request{
			{URL: "/api/v1/users/me"},
			{Method: "PATCH", URL: "/api/v1/users/me", Body: map[string]any{"display_name": "Ghost"}},
			{Method: "POST", URL: "/api/v1/users/me/tokens", Body: map[string]any{"name": "ci", "scopes": []string{"files:read"}}},
			{Method: "POST", URL: "/api/v1/users/me/password", Body: map[string]string{"current_password": apitest.Password, "new_password": "Another-Horse-77"}},
			{Method: "POST", URL: "/api/v1/users/me/mfa/totp", Body: map[string]string{"password": apitest.Password}},
		} {
			req.Token, req.RemoteAddr = victim.Token, victim.Addr
			if req.Method == "" {
				req.Method = "GET"
			}
			res := b.Do(t, req)
			if req.Method == "GET" && res.Status == 200 {
				continue // the cached account, within the feed's bound
			}
			if res.Status != 401 {
				t.Errorf("%s %s on B after the deletion: %d %s", req.Method, req.URL, res.Status, res.Body)
			}
		}
	})
}

// The view also holds accounts: a change made on A shows in GET /users/me
// on A at once and on B within a second.
func TestAccountChangesReachEveryInstance(t *testing.T) {
	apitest.Each(t, authEnv, func(t *testing.T, a *apitest.Env) {
		b := a.Twin(t, app.Options{})
		v := a.NewAccount(t, "changing", false)
		name := func(e *apitest.Env) any {
			res := e.Do(t, apitest.Request{URL: "/api/v1/users/me", Token: v.Token})
			want(t, res, 200)
			return res.JSON(t)["display_name"]
		}
		name(a)
		name(b)
		want(t, a.Do(t, apitest.Request{Method: "PATCH", URL: "/api/v1/users/me", Token: v.Token,
			Body: map[string]any{"display_name": "Renamed"}}), 200)
		if got := name(a); got != "Renamed" {
			t.Fatalf("A shows %v right after the change", got)
		}
		changed := time.Now()
		for name(b) != "Renamed" {
			if time.Since(changed) > revocationBound {
				t.Fatalf("B still shows the old name after %v", time.Since(changed))
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

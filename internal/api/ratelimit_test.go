package api_test

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"secureapi/internal/api/apitest"
	"secureapi/internal/testutil/testdb"
)

func randomIP() string {
	return fmt.Sprintf("198.51.100.%d:4000", 1+rand.IntN(250))
}

func loginAttempt(ip string, extra map[string]string) apitest.Request {
	return apitest.Request{Method: "POST", URL: "/api/v1/auth/login", RemoteAddr: ip, Headers: extra,
		Body: map[string]any{"email": "nobody@example.com"}} // invalid on purpose: the limit applies before validation
}

func TestAuthRateLimitPerIP(t *testing.T) {
	e := apitest.New(t, "sqlite", map[string]string{"RATE_LIMIT_AUTH_PER_MINUTE": "3"})
	ip := randomIP()
	for i := 0; i < 3; i++ {
		res := e.Do(t, loginAttempt(ip, nil))
		if res.Status != 400 {
			t.Fatalf("attempt %d: status %d", i+1, res.Status)
		}
		if res.Header.Get("RateLimit-Limit") != "3" || res.Header.Get("RateLimit-Remaining") != strconv.Itoa(2-i) {
			t.Fatalf("attempt %d: RateLimit headers %v", i+1, res.Header)
		}
	}
	// A spoofed X-Forwarded-For from an untrusted peer does not change the key.
	res := e.Do(t, loginAttempt(ip, map[string]string{"X-Forwarded-For": "203.0.113.99"}))
	if res.Status != 429 {
		t.Fatalf("4th attempt: status %d, want 429", res.Status)
	}
	apitest.AssertProblem(t, res, "too-many-requests")
	if ra, _ := strconv.Atoi(res.Header.Get("Retry-After")); ra < 1 {
		t.Fatalf("Retry-After = %q", res.Header.Get("Retry-After"))
	}
	if res.Header.Get("RateLimit-Remaining") != "0" {
		t.Fatalf("RateLimit-Remaining = %q", res.Header.Get("RateLimit-Remaining"))
	}
	// Another client is not affected, and non-auth routes use the looser IP limit.
	if res := e.Do(t, loginAttempt(randomIP(), nil)); res.Status != 400 {
		t.Fatalf("other IP: status %d", res.Status)
	}
	if res := e.Do(t, apitest.Request{URL: "/api/v1/users/me", RemoteAddr: ip}); res.Status != 401 {
		t.Fatalf("non-auth route after auth limit: status %d", res.Status)
	}
}

func TestIPRateLimitBehindTrustedProxy(t *testing.T) {
	e := apitest.New(t, "sqlite", map[string]string{"RATE_LIMIT_IP_PER_MINUTE": "2", "TRUSTED_PROXIES": "10.0.0.0/8"})
	get := func(client string) int {
		return e.Do(t, apitest.Request{URL: "/api/v1/users/me", RemoteAddr: "10.0.0.1:5000",
			Headers: map[string]string{"X-Forwarded-For": client}}).Status
	}
	if get("203.0.113.1") != 401 || get("203.0.113.1") != 401 || get("203.0.113.1") != 429 {
		t.Fatal("third request of one client behind the proxy was not limited")
	}
	if get("203.0.113.2") != 401 {
		t.Fatal("a second client behind the same proxy shares the first one's limit")
	}
	// Probes and the spec are not limited.
	if e.Do(t, apitest.Request{URL: "/healthz", RemoteAddr: "10.0.0.1:5000", Headers: map[string]string{"X-Forwarded-For": "203.0.113.1"}}).Status != 200 {
		t.Fatal("liveness probe was rate limited")
	}
}

// Two instances sharing one Redis share one budget.
func TestRateLimitSharedThroughRedis(t *testing.T) {
	url := testdb.RedisURL(t)
	env := map[string]string{"REDIS_URL": url, "RATE_LIMIT_AUTH_PER_MINUTE": "4"}
	a, b := apitest.New(t, "sqlite", env), apitest.New(t, "sqlite", env)
	ip := fmt.Sprintf("198.18.%d.%d:4000", rand.IntN(250), 1+rand.IntN(250))
	for i, e := range []*apitest.Env{a, b, a, b} {
		if res := e.Do(t, loginAttempt(ip, nil)); res.Status != 400 {
			t.Fatalf("attempt %d: status %d", i+1, res.Status)
		}
	}
	if res := a.Do(t, loginAttempt(ip, nil)); res.Status != 429 {
		t.Fatalf("5th attempt on A after 2 on A and 2 on B: status %d, want 429", res.Status)
	}
	if res := b.Do(t, loginAttempt(ip, nil)); res.Status != 429 {
		t.Fatalf("6th attempt on B: status %d, want 429", res.Status)
	}
}

// With Redis unreachable the service keeps serving and keeps limiting.
func TestRateLimitFallsBackWhenRedisIsDown(t *testing.T) {
	e := apitest.New(t, "sqlite", map[string]string{"REDIS_URL": "redis://127.0.0.1:1/0", "RATE_LIMIT_AUTH_PER_MINUTE": "2"})
	ip := randomIP()
	if e.Do(t, loginAttempt(ip, nil)).Status != 400 || e.Do(t, loginAttempt(ip, nil)).Status != 400 {
		t.Fatal("requests failed while Redis is down")
	}
	if res := e.Do(t, loginAttempt(ip, nil)); res.Status != 429 {
		t.Fatalf("status %d: limits must still apply while Redis is down", res.Status)
	}
}

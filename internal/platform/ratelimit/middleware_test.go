package ratelimit_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"secureapi/internal/platform/ratelimit"
)

// app is a real Echo instance with the middleware on GET /x and an error
// handler that answers *Exceeded with 429, as the application's does.
type app struct {
	e        *echo.Echo
	calls    int // handler invocations
	exceeded []*ratelimit.Exceeded
	rejected []string // onReject arguments
	lastErr  error
}

func newApp(t *testing.T, l ratelimit.Limiter, rules []ratelimit.Rule) *app {
	t.Helper()
	a := &app{e: echo.New()}
	a.e.IPExtractor = echo.ExtractIPDirect()
	a.e.HTTPErrorHandler = func(err error, c echo.Context) {
		a.lastErr = err
		if ex, ok := ratelimit.AsExceeded(err); ok {
			a.exceeded = append(a.exceeded, ex)
			_ = c.JSON(http.StatusTooManyRequests, map[string]string{"title": "Too Many Requests"})
			return
		}
		a.e.DefaultHTTPErrorHandler(err, c)
	}
	a.e.Use(ratelimit.Middleware(l, rules, func(rule string) { a.rejected = append(a.rejected, rule) }))
	a.e.GET("/x", func(c echo.Context) error {
		a.calls++
		return c.String(http.StatusOK, "ok")
	})
	return a
}

func (a *app) get(ip, user string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	req.RemoteAddr = ip + ":40000"
	if user != "" {
		req.Header.Set("X-Test-User", user)
	}
	rec := httptest.NewRecorder()
	a.e.ServeHTTP(rec, req)
	return rec
}

func ipRule(lim ratelimit.Limit) ratelimit.Rule {
	return ratelimit.Rule{Name: "ip", Limit: lim, Key: func(c echo.Context) (string, bool) {
		return c.RealIP(), true
	}}
}

// userRule applies only to requests that name a user.
func userRule(lim ratelimit.Limit) ratelimit.Rule {
	return ratelimit.Rule{Name: "user", Limit: lim, Key: func(c echo.Context) (string, bool) {
		u := c.Request().Header.Get("X-Test-User")
		return u, u != ""
	}}
}

func newMemory(t *testing.T) *ratelimit.Memory {
	t.Helper()
	m := ratelimit.NewMemory()
	t.Cleanup(m.Close)
	return m
}

func wantHeaders(t *testing.T, rec *httptest.ResponseRecorder, limit, remaining string) {
	t.Helper()
	h := rec.Header()
	if got := h.Get("RateLimit-Limit"); got != limit {
		t.Errorf("RateLimit-Limit = %q, want %q", got, limit)
	}
	if got := h.Get("RateLimit-Remaining"); got != remaining {
		t.Errorf("RateLimit-Remaining = %q, want %q", got, remaining)
	}
	if reset, err := strconv.Atoi(h.Get("RateLimit-Reset")); err != nil || reset < 1 {
		t.Errorf("RateLimit-Reset = %q, want whole seconds >= 1", h.Get("RateLimit-Reset"))
	}
}

func TestMiddlewareSetsHeadersWhenAllowed(t *testing.T) {
	a := newApp(t, newMemory(t), []ratelimit.Rule{ipRule(ratelimit.Limit{PerMinute: 60, Burst: 3})})

	for _, wantRemaining := range []string{"2", "1", "0"} {
		rec := a.get("192.0.2.1", "")
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d, want 200", rec.Code)
		}
		wantHeaders(t, rec, "3", wantRemaining)
		if rec.Header().Get("Retry-After") != "" {
			t.Errorf("Retry-After set on an allowed response")
		}
	}
	if a.calls != 3 {
		t.Fatalf("handler ran %d times, want 3", a.calls)
	}
}

func TestMiddlewareDeniesWith429AndRetryAfter(t *testing.T) {
	a := newApp(t, newMemory(t), []ratelimit.Rule{ipRule(ratelimit.Limit{PerMinute: 30, Burst: 1})})

	if rec := a.get("192.0.2.1", ""); rec.Code != http.StatusOK {
		t.Fatalf("first request: status %d, want 200", rec.Code)
	}
	rec := a.get("192.0.2.1", "")
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("second request: status %d, want 429", rec.Code)
	}
	if a.calls != 1 {
		t.Fatalf("handler ran %d times, want 1: next must not run when denied", a.calls)
	}
	// One token every 2 s.
	if got := rec.Header().Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After = %q, want \"2\"", got)
	}
	wantHeaders(t, rec, "1", "0")

	if len(a.exceeded) != 1 {
		t.Fatalf("error handler saw %d *Exceeded, want 1 (last error: %v)", len(a.exceeded), a.lastErr)
	}
	ex := a.exceeded[0]
	if ex.Rule != "ip" || ex.RetryAfter != 2*time.Second {
		t.Errorf("got %+v, want rule ip, RetryAfter 2s", ex)
	}
	if !errors.Is(a.lastErr, ratelimit.ErrLimited) {
		t.Errorf("%v does not match ErrLimited", a.lastErr)
	}
	if len(a.rejected) != 1 || a.rejected[0] != "ip" {
		t.Errorf("onReject got %v, want [ip]", a.rejected)
	}

	// Another client is unaffected.
	if rec := a.get("192.0.2.2", ""); rec.Code != http.StatusOK {
		t.Fatalf("other client: status %d, want 200", rec.Code)
	}
}

func TestMiddlewareRetryAfterIsAtLeastOneSecond(t *testing.T) {
	a := newApp(t, newMemory(t), []ratelimit.Rule{ipRule(ratelimit.Limit{PerMinute: 6000, Burst: 1})})

	a.get("192.0.2.1", "")
	rec := a.get("192.0.2.1", "")
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", rec.Code)
	}
	if got := rec.Header().Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q for a 10 ms wait, want \"1\"", got)
	}
	if ex := a.exceeded[0]; ex.RetryAfter != time.Second {
		t.Errorf("Exceeded.RetryAfter = %v, want 1s", ex.RetryAfter)
	}
}

func TestMiddlewareSkipsRulesThatDoNotApply(t *testing.T) {
	spy := &spyLimiter{next: newMemory(t)}
	a := newApp(t, spy, []ratelimit.Rule{
		ipRule(ratelimit.Limit{PerMinute: 60, Burst: 100}),
		userRule(ratelimit.Limit{PerMinute: 60, Burst: 1}),
	})

	for range 5 {
		if rec := a.get("192.0.2.1", ""); rec.Code != http.StatusOK {
			t.Fatalf("anonymous request: status %d, want 200 (the user rule does not apply)", rec.Code)
		}
	}
	for _, k := range spy.keys {
		if k != "ip:192.0.2.1" {
			t.Fatalf("limiter asked for %q on anonymous requests, want only ip:192.0.2.1", k)
		}
	}

	// The rule applies once a user is named.
	a.get("192.0.2.1", "alice")
	if rec := a.get("192.0.2.1", "alice"); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("alice's second request: status %d, want 429", rec.Code)
	}
	if a.rejected[0] != "user" {
		t.Errorf("onReject got %v, want [user]", a.rejected)
	}
}

func TestMiddlewareReportsTheMostRestrictiveRule(t *testing.T) {
	a := newApp(t, newMemory(t), []ratelimit.Rule{
		ipRule(ratelimit.Limit{PerMinute: 60, Burst: 10}),
		userRule(ratelimit.Limit{PerMinute: 60, Burst: 3}),
	})

	rec := a.get("192.0.2.1", "alice")
	wantHeaders(t, rec, "3", "2")

	// Without a user only the ip rule applies.
	rec = a.get("192.0.2.1", "")
	wantHeaders(t, rec, "10", "8")
}

func TestMiddlewareRulesNeverShareBuckets(t *testing.T) {
	spy := &spyLimiter{next: newMemory(t)}
	same := func(c echo.Context) (string, bool) { return "k", true }
	lim := ratelimit.Limit{PerMinute: 60, Burst: 1}
	a := newApp(t, spy, []ratelimit.Rule{
		{Name: "a", Limit: lim, Key: same},
		{Name: "b", Limit: lim, Key: same},
	})

	if rec := a.get("192.0.2.1", ""); rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200: rule b spent rule a's token", rec.Code)
	}
	if len(spy.keys) != 2 || spy.keys[0] != "a:k" || spy.keys[1] != "b:k" {
		t.Fatalf("limiter keys %v, want [a:k b:k]", spy.keys)
	}
}

func TestMiddlewareStopsAtTheFirstDenial(t *testing.T) {
	spy := &spyLimiter{next: newMemory(t)}
	a := newApp(t, spy, []ratelimit.Rule{
		ipRule(ratelimit.Limit{PerMinute: 60, Burst: 1}),
		userRule(ratelimit.Limit{PerMinute: 60, Burst: 5}),
	})

	a.get("192.0.2.1", "alice")
	spy.keys = nil
	if rec := a.get("192.0.2.1", "alice"); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", rec.Code)
	}
	if len(spy.keys) != 1 {
		t.Fatalf("limiter asked for %v after the ip rule denied, want only the ip key", spy.keys)
	}
}

func TestMiddlewareDisabledRuleIsSkipped(t *testing.T) {
	spy := &spyLimiter{next: newMemory(t)}
	a := newApp(t, spy, []ratelimit.Rule{ipRule(ratelimit.Limit{PerMinute: 0, Burst: 1})})

	for range 3 {
		rec := a.get("192.0.2.1", "")
		if rec.Code != http.StatusOK || rec.Header().Get("RateLimit-Limit") != "" {
			t.Fatalf("status %d, RateLimit-Limit %q; want 200 without headers", rec.Code, rec.Header().Get("RateLimit-Limit"))
		}
	}
	if len(spy.keys) != 0 {
		t.Fatalf("limiter asked for %v under a disabled rule", spy.keys)
	}
}

func TestMiddlewareLimiterErrorStopsTheRequest(t *testing.T) {
	boom := errors.New("backend down")
	a := newApp(t, failingLimiter{boom}, []ratelimit.Rule{ipRule(ratelimit.Limit{PerMinute: 60})})

	if rec := a.get("192.0.2.1", ""); rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	if a.calls != 0 || !errors.Is(a.lastErr, boom) {
		t.Fatalf("calls=%d err=%v; want the handler skipped and the limiter error returned", a.calls, a.lastErr)
	}
	if _, ok := ratelimit.AsExceeded(a.lastErr); ok {
		t.Fatal("a limiter failure was reported as a rate limit")
	}
}

func TestMiddlewareRejectsBadRules(t *testing.T) {
	key := func(echo.Context) (string, bool) { return "", true }
	cases := map[string][]ratelimit.Rule{
		"empty name":     {{Name: "", Key: key}},
		"colon in name":  {{Name: "a:b", Key: key}},
		"duplicate name": {{Name: "ip", Key: key}, {Name: "ip", Key: key}},
		"no key":         {{Name: "ip"}},
	}
	for name, rules := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("Middleware accepted the rules")
				}
			}()
			ratelimit.Middleware(failingLimiter{}, rules, nil)
		})
	}
}

func TestExceededMatching(t *testing.T) {
	err := error(&ratelimit.Exceeded{Rule: "auth", RetryAfter: 3 * time.Second})
	wrapped := errors.Join(errors.New("context"), err)
	ex, ok := ratelimit.AsExceeded(wrapped)
	if !ok || ex.Rule != "auth" || !errors.Is(wrapped, ratelimit.ErrLimited) {
		t.Fatalf("AsExceeded(%v) = %+v, %v", wrapped, ex, ok)
	}
	if _, ok := ratelimit.AsExceeded(errors.New("other")); ok {
		t.Fatal("AsExceeded matched an unrelated error")
	}
}

// spyLimiter records the keys it is asked about.
type spyLimiter struct {
	mu   sync.Mutex
	next ratelimit.Limiter
	keys []string
}

func (s *spyLimiter) Allow(ctx context.Context, key string, l ratelimit.Limit) (ratelimit.Result, error) {
	s.mu.Lock()
	s.keys = append(s.keys, key)
	s.mu.Unlock()
	return s.next.Allow(ctx, key, l)
}

type failingLimiter struct{ err error }

func (f failingLimiter) Allow(context.Context, string, ratelimit.Limit) (ratelimit.Result, error) {
	return ratelimit.Result{}, f.err
}

package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// ErrLimited matches (errors.Is) every *Exceeded.
var ErrLimited = errors.New("rate limit exceeded")

// Exceeded is the error Middleware returns when a rule denies a request.
type Exceeded struct {
	Rule string
	// RetryAfter is whole seconds, at least one: the value sent in the
	// Retry-After header.
	RetryAfter time.Duration
}

func (e *Exceeded) Error() string {
	return fmt.Sprintf("rate limit %q exceeded, retry after %s", e.Rule, e.RetryAfter)
}

func (e *Exceeded) Unwrap() error { return ErrLimited }

// AsExceeded returns the *Exceeded in err's chain, if any.
func AsExceeded(err error) (*Exceeded, bool) {
	var e *Exceeded
	ok := errors.As(err, &e)
	return e, ok
}

// Rule is one limit applied by the middleware.
type Rule struct {
	// Name identifies the rule in bucket keys and in onReject ("ip", "user",
	// "auth"). It must be unique among the rules and must not contain ':'.
	Name  string
	Limit Limit
	// Key returns the bucket key for the request, or ok=false when the rule
	// does not apply to it (an anonymous request under a per-user rule).
	// A key from c.RealIP() is only as trustworthy as the installed
	// e.IPExtractor: with Echo's default, clients pick their own key through
	// X-Forwarded-For and escape per-IP limits.
	Key func(c echo.Context) (key string, ok bool)
}

// Header names from the IETF RateLimit header fields draft.
const (
	headerLimit      = "RateLimit-Limit"
	headerRemaining  = "RateLimit-Remaining"
	headerReset      = "RateLimit-Reset"
	headerRetryAfter = "Retry-After"
)

// Middleware applies every rule in order, each under the bucket key
// "<rule name>:<key>" so that rules never share buckets. A rule whose limit
// is disabled or whose Key returns ok=false is skipped.
//
// When every applicable rule allows the request, the RateLimit-Limit,
// RateLimit-Remaining and RateLimit-Reset headers of the most restrictive
// one (fewest remaining) are set and next is called. When a rule denies it,
// the headers describe that rule, Retry-After is set (whole seconds, at
// least 1), onReject (may be nil) is called with the rule name, and an
// *Exceeded is returned without calling next or consulting later rules;
// the application's error handler answers 429. A limiter error is returned
// as is (use NewFallback so that there are none).
//
// Middleware panics when a rule has no Key, an empty or duplicate Name, or
// a Name containing ':'.
func Middleware(l Limiter, rules []Rule, onReject func(rule string)) echo.MiddlewareFunc {
	if l == nil {
		panic("ratelimit: Middleware needs a Limiter")
	}
	rules = append([]Rule(nil), rules...)
	seen := make(map[string]bool, len(rules))
	for _, r := range rules {
		switch {
		case r.Name == "" || strings.Contains(r.Name, ":"):
			panic(fmt.Sprintf("ratelimit: invalid rule name %q", r.Name))
		case seen[r.Name]:
			panic(fmt.Sprintf("ratelimit: duplicate rule name %q", r.Name))
		case r.Key == nil:
			panic(fmt.Sprintf("ratelimit: rule %q has no Key", r.Name))
		}
		seen[r.Name] = true
	}
	// Each rule's RateLimit-Limit value (its burst) never changes: it is
	// formatted once rather than on every request.
	limitText := make([]formatted, len(rules))
	for i, r := range rules {
		limitText[i] = formatted{r.Limit.burst(), strconv.Itoa(r.Limit.burst())}
	}

	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx := c.Request().Context()
			var (
				tightest     Result
				tightestRule int
				found        bool
			)
			for i, r := range rules {
				if r.Limit.Disabled() {
					continue
				}
				key, ok := r.Key(c)
				if !ok {
					continue
				}
				res, err := l.Allow(ctx, r.Name+":"+key, r.Limit)
				if err != nil {
					return fmt.Errorf("ratelimit: rule %q: %w", r.Name, err)
				}
				if !res.Allowed {
					h := c.Response().Header()
					setHeaders(h, res, limitText[i])
					retry := wholeSeconds(res.RetryAfter)
					h.Set(headerRetryAfter, strconv.FormatInt(int64(retry/time.Second), 10))
					if onReject != nil {
						onReject(r.Name)
					}
					return &Exceeded{Rule: r.Name, RetryAfter: retry}
				}
				if !found || res.Remaining < tightest.Remaining ||
					(res.Remaining == tightest.Remaining && res.ResetAfter > tightest.ResetAfter) {
					tightest, tightestRule, found = res, i, true
				}
			}
			if found {
				setHeaders(c.Response().Header(), tightest, limitText[tightestRule])
			}
			return next(c)
		}
	}
}

// The RateLimit-* names in canonical form: they are assigned to the header
// map directly, since Set would allocate the canonical form every time.
var (
	canonicalLimit     = http.CanonicalHeaderKey(headerLimit)
	canonicalRemaining = http.CanonicalHeaderKey(headerRemaining)
	canonicalReset     = http.CanonicalHeaderKey(headerReset)
)

// formatted is a number and its decimal text.
type formatted struct {
	n    int
	text string
}

// setHeaders sets the RateLimit-* headers of r on h, the three values in
// one array (each slice capped, so an Add copies). limit is the rule's
// limit already formatted, used when it is r's.
func setHeaders(h http.Header, r Result, limit formatted) {
	if limit.n != r.Limit {
		limit.text = strconv.Itoa(r.Limit)
	}
	vals := [...]string{
		limit.text,
		strconv.Itoa(r.Remaining),
		strconv.FormatInt(int64(math.Ceil(r.ResetAfter.Seconds())), 10),
	}
	v := vals[:]
	h[canonicalLimit], h[canonicalRemaining], h[canonicalReset] = v[0:1:1], v[1:2:2], v[2:3:3]
}

// wholeSeconds rounds d up to whole seconds, at least one: a client told
// "0" would retry at once and be refused again.
func wholeSeconds(d time.Duration) time.Duration {
	s := max(math.Ceil(d.Seconds()), 1)
	return time.Duration(s) * time.Second
}

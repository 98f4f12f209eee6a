package ratelimit

import (
	"context"
	"math"
	"time"
)

// Limit is a token bucket: Burst requests at once, refilled at PerMinute
// requests per minute. PerMinute <= 0 disables the limit. Burst <= 0 means
// Burst = PerMinute, so that Limit{PerMinute: 60} allows 60 requests in a
// burst and one more every second after that.
type Limit struct {
	PerMinute int
	Burst     int
}

// Disabled reports whether l lets every request through.
func (l Limit) Disabled() bool { return l.PerMinute <= 0 }

// burst is the effective bucket size.
func (l Limit) burst() int {
	if l.Burst <= 0 {
		return l.PerMinute
	}
	return l.Burst
}

// perSecond is the refill rate in tokens per second.
func (l Limit) perSecond() float64 { return float64(l.PerMinute) / 60 }

// Result is the outcome of one Allow call.
type Result struct {
	Allowed bool
	// Limit is the bucket size (the effective burst): the most requests the
	// key can make at once. It is 0 when the limit is disabled.
	Limit int
	// Remaining is how many further requests would be allowed right now.
	Remaining int
	// RetryAfter is how long to wait before the next request can be allowed;
	// 0 when this one was allowed.
	RetryAfter time.Duration
	// ResetAfter is how long until the bucket is full again (Remaining ==
	// Limit) if no further request is made.
	ResetAfter time.Duration
}

// Limiter decides whether one more request under key fits in l. Keys of
// different callers must not collide: the middleware prefixes the rule name.
type Limiter interface {
	Allow(ctx context.Context, key string, l Limit) (Result, error)
}

// unlimited is the answer for a disabled limit.
var unlimited = Result{Allowed: true}

// seconds converts a float number of seconds, rounding up so that a wait is
// never reported shorter than it is.
func seconds(s float64) time.Duration {
	if s <= 0 || math.IsNaN(s) {
		return 0
	}
	d := math.Ceil(s * float64(time.Second))
	if d >= math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(d)
}

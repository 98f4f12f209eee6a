// Package ratelimit limits how often a key (a client IP, a user, an IP on the
// auth endpoints) may make requests, and holds the Echo middleware that
// applies such limits to HTTP requests.
//
// Every backend is a token bucket (a generic cell rate algorithm in Redis):
// a key may spend up to Limit.Burst requests at once and regains one every
// minute/Limit.PerMinute. Three Limiter implementations exist:
//
//   - Memory: per-process buckets (golang.org/x/time/rate) for a single
//     instance, with bounded memory.
//   - Redis: buckets shared by every instance, decided by one Lua script per
//     call (github.com/go-redis/redis_rate), so concurrent instances can never
//     overspend a budget.
//   - Fallback: Redis while it answers, Memory while it does not, so that an
//     unreachable Redis degrades limits to per-instance ones instead of
//     failing requests.
//
// Middleware turns a denial into an *Exceeded error (matching ErrLimited)
// and leaves the response body to the application's error handler, which
// answers 429 with the Retry-After header the middleware already set.
package ratelimit

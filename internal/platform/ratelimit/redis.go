package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// redisKeyPrefix namespaces this package's keys; redis_rate adds its own
// "rate:" in front, so a key is stored as "rate:rl:<rule>:<key>".
const redisKeyPrefix = "rl:"

// Redis keeps the buckets in Redis, shared by every instance. Each decision
// is one Lua script run by Redis (redis_rate's GCRA), so it is atomic across
// instances and goroutines, and uses Redis' clock, so instance clock skew
// does not matter.
type Redis struct {
	lim *redis_rate.Limiter
}

var _ Limiter = (*Redis)(nil)

// NewRedis returns a limiter over client. A *redis.Client, a cluster or a
// failover client all work: each bucket is a single key. Give the client
// short dial and read timeouts, since every rate-limited request waits for
// one round trip.
func NewRedis(client redis.UniversalClient) *Redis {
	return &Redis{lim: redis_rate.NewLimiter(client)}
}

// Allow takes one token from key's bucket if one is available. It returns
// an error when Redis cannot answer; wrap it with NewFallback to keep
// serving.
func (r *Redis) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	if l.Disabled() {
		return unlimited, nil
	}
	burst := l.burst()
	res, err := r.lim.Allow(ctx, redisKeyPrefix+key, redis_rate.Limit{
		Rate:   l.PerMinute,
		Burst:  burst,
		Period: time.Minute,
	})
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	out := Result{
		Allowed:    res.Allowed > 0,
		Limit:      burst,
		Remaining:  max(res.Remaining, 0),
		ResetAfter: max(res.ResetAfter, 0), // -1 means "not applicable"
	}
	if !out.Allowed {
		out.Remaining = 0
		out.RetryAfter = max(res.RetryAfter, 0)
	}
	return out, nil
}

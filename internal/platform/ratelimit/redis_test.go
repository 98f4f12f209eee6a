package ratelimit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"secureapi/internal/platform/ratelimit"
	"secureapi/internal/testutil/testdb"
)

// testRedis returns a client for TEST_REDIS_URL and a random key prefix for
// this test; the test's keys are deleted at cleanup. Without TEST_REDIS_URL
// the test is skipped, or fails under CI=true.
func testRedis(t *testing.T) (newClient func() *redis.Client, prefix string) {
	t.Helper()
	url := testdb.RedisURL(t)
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("TEST_REDIS_URL: %v", err)
	}
	newClient = func() *redis.Client {
		c := redis.NewClient(opts)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}

	admin := newClient()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis at TEST_REDIS_URL does not answer: %v", err)
	}

	b := make([]byte, 8)
	_, _ = rand.Read(b)
	prefix = "test-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx := context.Background()
		// redis_rate stores "rate:" + this package's "rl:" + the key.
		iter := admin.Scan(ctx, 0, "rate:rl:"+prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			admin.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("cleaning up test keys: %v", err)
		}
	})
	return newClient, prefix
}

func TestRedisBurstThenDenyThenRefill(t *testing.T) {
	newClient, prefix := testRedis(t)
	client := newClient()
	l := ratelimit.NewRedis(client)
	key := prefix + ":k"
	lim := ratelimit.Limit{PerMinute: 60, Burst: 2}

	for i, wantRemaining := range []int{1, 0} {
		res := mustAllow(t, l, key, lim)
		if !res.Allowed || res.Remaining != wantRemaining || res.Limit != 2 || res.RetryAfter != 0 {
			t.Fatalf("request %d: got %+v, want allowed, Limit 2, Remaining %d, no RetryAfter", i+1, res, wantRemaining)
		}
	}
	res := mustAllow(t, l, key, lim)
	if res.Allowed || res.Remaining != 0 {
		t.Fatalf("request 3: got %+v, want denied with 0 remaining", res)
	}
	if res.RetryAfter <= 0 || res.RetryAfter > time.Second {
		t.Fatalf("request 3: RetryAfter %v, want within (0, 1s] at one token per second", res.RetryAfter)
	}
	if res.ResetAfter <= time.Second || res.ResetAfter > 2*time.Second {
		t.Fatalf("request 3: ResetAfter %v, want within (1s, 2s]", res.ResetAfter)
	}

	// The bucket lives under the documented key.
	if n, err := client.Exists(context.Background(), "rate:rl:"+key).Result(); err != nil || n != 1 {
		t.Fatalf("key rate:rl:%s: exists=%d err=%v, want it stored", key, n, err)
	}

	time.Sleep(res.RetryAfter + 50*time.Millisecond)
	if res := mustAllow(t, l, key, lim); !res.Allowed {
		t.Fatalf("after RetryAfter: got %+v, want allowed", res)
	}
	if res := mustAllow(t, l, key, lim); res.Allowed {
		t.Fatalf("only one token refilled, yet the next request was allowed: %+v", res)
	}
}

func TestRedisKeysAreIndependent(t *testing.T) {
	newClient, prefix := testRedis(t)
	l := ratelimit.NewRedis(newClient())
	lim := ratelimit.Limit{PerMinute: 1, Burst: 1}

	mustAllow(t, l, prefix+":a", lim)
	if res := mustAllow(t, l, prefix+":a", lim); res.Allowed {
		t.Fatalf("a is exhausted but was allowed: %+v", res)
	}
	if res := mustAllow(t, l, prefix+":b", lim); !res.Allowed {
		t.Fatalf("b was denied because of a: %+v", res)
	}
}

func TestRedisDisabledLimitTouchesNothing(t *testing.T) {
	newClient, prefix := testRedis(t)
	client := newClient()
	l := ratelimit.NewRedis(client)

	if res := mustAllow(t, l, prefix+":off", ratelimit.Limit{}); !res.Allowed {
		t.Fatalf("disabled limit denied: %+v", res)
	}
	if n, _ := client.Exists(context.Background(), "rate:rl:"+prefix+":off").Result(); n != 0 {
		t.Fatal("a disabled limit wrote a key")
	}
}

// Two instances, each with its own client, spend one shared budget.
func TestRedisInstancesShareTheBudget(t *testing.T) {
	newClient, prefix := testRedis(t)
	instances := []ratelimit.Limiter{ratelimit.NewRedis(newClient()), ratelimit.NewRedis(newClient())}
	lim := ratelimit.Limit{PerMinute: 1, Burst: 10}

	allowed := make([]int, len(instances))
	for i := range 20 {
		which := i % len(instances)
		if mustAllow(t, instances[which], prefix+":shared", lim).Allowed {
			allowed[which]++
		}
	}
	if total := allowed[0] + allowed[1]; total != 10 {
		t.Fatalf("instances allowed %v = %d requests in total, want the shared burst of 10", allowed, total)
	}
	if allowed[0] != 5 || allowed[1] != 5 {
		t.Fatalf("instances allowed %v, want 5 each for alternating requests", allowed)
	}
}

func TestRedisConcurrentNeverExceeds(t *testing.T) {
	newClient, prefix := testRedis(t)
	instances := []ratelimit.Limiter{ratelimit.NewRedis(newClient()), ratelimit.NewRedis(newClient())}
	lim := ratelimit.Limit{PerMinute: 1, Burst: 25}

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		allowed int
	)
	for g := range 50 {
		wg.Go(func() {
			for range 4 {
				res, err := instances[g%2].Allow(context.Background(), prefix+":race", lim)
				if err != nil {
					t.Error(err)
					return
				}
				if res.Allowed {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if allowed != 25 {
		t.Fatalf("%d of 200 concurrent requests allowed, want exactly the burst of 25", allowed)
	}
}

func TestRedisUnreachableReturnsError(t *testing.T) {
	l := ratelimit.NewRedis(closedPortClient(t))
	if _, err := l.Allow(context.Background(), "k", ratelimit.Limit{PerMinute: 60}); err == nil {
		t.Fatal("Allow against a closed port returned no error")
	}
}

// closedPortClient points at a port nothing listens on.
func closedPortClient(t *testing.T) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func mustAllow(t *testing.T, l ratelimit.Limiter, key string, lim ratelimit.Limit) ratelimit.Result {
	t.Helper()
	res, err := l.Allow(context.Background(), key, lim)
	if err != nil {
		t.Fatalf("Allow(%q): %v", key, err)
	}
	return res
}

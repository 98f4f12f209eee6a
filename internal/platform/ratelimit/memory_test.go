package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable time source for the in-memory limiter.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestMemory(t *testing.T, clock *fakeClock, maxKeys int) *Memory {
	t.Helper()
	m := newMemory(memoryConfig{now: clock.Now, maxKeys: maxKeys})
	t.Cleanup(m.Close)
	return m
}

func mustAllow(t *testing.T, l Limiter, key string, lim Limit) Result {
	t.Helper()
	res, err := l.Allow(context.Background(), key, lim)
	if err != nil {
		t.Fatalf("Allow(%q): %v", key, err)
	}
	return res
}

var sixtyBurstTwo = Limit{PerMinute: 60, Burst: 2}

func TestMemoryBurstThenDeny(t *testing.T) {
	m := newTestMemory(t, newFakeClock(), defaultMaxKeys)

	want := []Result{
		{Allowed: true, Limit: 2, Remaining: 1, ResetAfter: time.Second},
		{Allowed: true, Limit: 2, Remaining: 0, ResetAfter: 2 * time.Second},
		{Allowed: false, Limit: 2, Remaining: 0, RetryAfter: time.Second, ResetAfter: 2 * time.Second},
	}
	for i, w := range want {
		if got := mustAllow(t, m, "k", sixtyBurstTwo); got != w {
			t.Errorf("request %d: got %+v, want %+v", i+1, got, w)
		}
	}
}

func TestMemoryRefillsOverTime(t *testing.T) {
	clock := newFakeClock()
	m := newTestMemory(t, clock, defaultMaxKeys)

	mustAllow(t, m, "k", sixtyBurstTwo)
	mustAllow(t, m, "k", sixtyBurstTwo)

	clock.Advance(500 * time.Millisecond)
	res := mustAllow(t, m, "k", sixtyBurstTwo)
	if res.Allowed || res.RetryAfter != 500*time.Millisecond {
		t.Fatalf("half a token later: got %+v, want denied with RetryAfter 500ms", res)
	}

	clock.Advance(500 * time.Millisecond)
	if res := mustAllow(t, m, "k", sixtyBurstTwo); !res.Allowed || res.Remaining != 0 {
		t.Fatalf("one token later: got %+v, want allowed with 0 remaining", res)
	}
	if res := mustAllow(t, m, "k", sixtyBurstTwo); res.Allowed {
		t.Fatalf("the refilled token was spent, got %+v", res)
	}

	// Refill never exceeds the burst.
	clock.Advance(time.Hour)
	for i, wantRemaining := range []int{1, 0} {
		if res := mustAllow(t, m, "k", sixtyBurstTwo); !res.Allowed || res.Remaining != wantRemaining {
			t.Fatalf("after an hour, request %d: got %+v, want allowed with %d remaining", i+1, res, wantRemaining)
		}
	}
	if res := mustAllow(t, m, "k", sixtyBurstTwo); res.Allowed {
		t.Fatalf("after an hour, burst+1: got %+v, want denied", res)
	}
}

// The public constructor with the real clock: a denied key is allowed again
// once RetryAfter has passed.
func TestMemoryRealClockRefill(t *testing.T) {
	m := NewMemory()
	defer m.Close()
	lim := Limit{PerMinute: 60, Burst: 1}

	if res := mustAllow(t, m, "k", lim); !res.Allowed {
		t.Fatalf("first request denied: %+v", res)
	}
	res := mustAllow(t, m, "k", lim)
	if res.Allowed || res.RetryAfter <= 0 || res.RetryAfter > time.Second {
		t.Fatalf("second request: got %+v, want denied with 0 < RetryAfter <= 1s", res)
	}
	time.Sleep(res.RetryAfter + 20*time.Millisecond)
	if res := mustAllow(t, m, "k", lim); !res.Allowed {
		t.Fatalf("after RetryAfter: got %+v, want allowed", res)
	}
}

func TestMemoryKeysAreIndependent(t *testing.T) {
	m := newTestMemory(t, newFakeClock(), defaultMaxKeys)
	lim := Limit{PerMinute: 60, Burst: 1}

	mustAllow(t, m, "a", lim)
	if res := mustAllow(t, m, "a", lim); res.Allowed {
		t.Fatalf("a is exhausted but was allowed: %+v", res)
	}
	if res := mustAllow(t, m, "b", lim); !res.Allowed {
		t.Fatalf("b was denied because of a: %+v", res)
	}
}

func TestMemoryDefaultBurstAndDisabled(t *testing.T) {
	m := newTestMemory(t, newFakeClock(), defaultMaxKeys)

	lim := Limit{PerMinute: 3}
	for i := range 3 {
		if res := mustAllow(t, m, "k", lim); !res.Allowed || res.Limit != 3 {
			t.Fatalf("request %d: got %+v, want allowed with Limit 3 (burst defaults to PerMinute)", i+1, res)
		}
	}
	if res := mustAllow(t, m, "k", lim); res.Allowed {
		t.Fatalf("request 4: got %+v, want denied", res)
	}

	for range 1000 {
		if res := mustAllow(t, m, "off", Limit{}); !res.Allowed {
			t.Fatalf("disabled limit denied: %+v", res)
		}
	}
	if n := m.size(); n != 1 {
		t.Fatalf("disabled limits must not create buckets: %d keys held", n)
	}
}

func TestMemoryLimitChangeTakesEffect(t *testing.T) {
	m := newTestMemory(t, newFakeClock(), defaultMaxKeys)

	mustAllow(t, m, "k", Limit{PerMinute: 60, Burst: 5})
	mustAllow(t, m, "k", Limit{PerMinute: 60, Burst: 5})
	// Three tokens are left under burst 5; lowering the burst to 2 caps them.
	lower := Limit{PerMinute: 60, Burst: 2}
	for i := range 2 {
		if res := mustAllow(t, m, "k", lower); !res.Allowed || res.Limit != 2 {
			t.Fatalf("after lowering the burst, request %d: got %+v, want allowed with Limit 2", i+1, res)
		}
	}
	if res := mustAllow(t, m, "k", lower); res.Allowed {
		t.Fatalf("the lowered burst was not applied: got %+v", res)
	}
}

func TestMemoryConcurrentNeverExceeds(t *testing.T) {
	m := newTestMemory(t, newFakeClock(), defaultMaxKeys)
	lim := Limit{PerMinute: 1, Burst: 25}

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		allowed int
	)
	for range 50 {
		wg.Go(func() {
			for range 4 {
				res, err := m.Allow(context.Background(), "shared", lim)
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

func TestMemoryCapEvictsLeastRecentlyUsed(t *testing.T) {
	m := newTestMemory(t, newFakeClock(), 3)
	lim := Limit{PerMinute: 1, Burst: 1}

	for _, k := range []string{"a", "b", "c"} {
		mustAllow(t, m, k, lim) // each bucket is now empty
	}
	mustAllow(t, m, "a", lim) // a becomes the most recently used
	mustAllow(t, m, "d", lim) // over the cap: b, the least recently used, goes

	if n := m.size(); n != 3 {
		t.Fatalf("%d keys held, want the cap of 3", n)
	}
	if res := mustAllow(t, m, "b", lim); !res.Allowed {
		t.Fatalf("b should have been evicted and start with a full bucket, got %+v", res)
	}
	// Re-adding b evicted c; a and d keep their empty buckets.
	for _, k := range []string{"a", "d"} {
		if res := mustAllow(t, m, k, lim); res.Allowed {
			t.Fatalf("%s should still be limited, got %+v", k, res)
		}
	}

	for i := range 1000 {
		mustAllow(t, m, fmt.Sprint("flood-", i), lim)
	}
	if n := m.size(); n != 3 {
		t.Fatalf("after 1000 distinct keys %d are held, want the cap of 3", n)
	}
}

func TestMemorySweepDropsOnlyRefilledBuckets(t *testing.T) {
	clock := newFakeClock()
	m := newTestMemory(t, clock, defaultMaxKeys)
	slow := Limit{PerMinute: 1, Burst: 2} // refills in 2 minutes
	fast := Limit{PerMinute: 60, Burst: 2}

	mustAllow(t, m, "slow", slow)
	mustAllow(t, m, "slow", slow)
	for i := range 100 {
		mustAllow(t, m, fmt.Sprint("fast-", i), fast)
	}
	if n := m.size(); n != 101 {
		t.Fatalf("%d keys held, want 101", n)
	}

	clock.Advance(90 * time.Second)
	m.sweep(clock.Now())
	if n := m.size(); n != 1 {
		t.Fatalf("after 90 s %d keys held, want only the unrefilled slow one", n)
	}
	// The sweep kept slow's state: 1.5 tokens refilled, so one is allowed
	// and the next is not.
	if res := mustAllow(t, m, "slow", slow); !res.Allowed {
		t.Fatalf("slow: got %+v, want allowed", res)
	}
	if res := mustAllow(t, m, "slow", slow); res.Allowed {
		t.Fatalf("slow lost its state in the sweep: got %+v", res)
	}

	clock.Advance(10 * time.Minute)
	m.sweep(clock.Now())
	if n := m.size(); n != 0 {
		t.Fatalf("after every bucket refilled %d keys held, want 0", n)
	}
}

func TestMemoryBackgroundSweepAndClose(t *testing.T) {
	clock := newFakeClock()
	m := newMemory(memoryConfig{now: clock.Now, maxKeys: defaultMaxKeys, sweepEvery: 5 * time.Millisecond})
	defer m.Close()

	mustAllow(t, m, "k", sixtyBurstTwo)
	clock.Advance(time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for m.size() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the background sweep never dropped the refilled bucket")
		}
		time.Sleep(5 * time.Millisecond)
	}

	m.Close()
	m.Close() // idempotent
	mustAllow(t, m, "k", sixtyBurstTwo)
	clock.Advance(time.Minute)
	time.Sleep(50 * time.Millisecond)
	if n := m.size(); n != 1 {
		t.Fatalf("sweep ran after Close: %d keys held, want 1", n)
	}
}

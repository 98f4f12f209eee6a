package ratelimit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// switchable fails while err is set and otherwise answers with res.
type switchable struct {
	mu    sync.Mutex
	err   error
	res   Result
	calls int
}

func (s *switchable) set(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *switchable) Allow(context.Context, string, Limit) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.err != nil {
		return Result{}, s.err
	}
	return s.res, nil
}

func newTestFallback(t *testing.T, primary, secondary Limiter) (*fallback, *fakeClock, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	clock := newFakeClock()
	return newFallback(primary, secondary, slog.New(slog.NewTextHandler(&logs, nil)), clock.Now), clock, &logs
}

var errDown = errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")

func TestFallbackUsesPrimaryWhileItAnswers(t *testing.T) {
	primary := &switchable{res: Result{Allowed: false, Limit: 7, RetryAfter: 3 * time.Second}}
	secondary := &switchable{res: Result{Allowed: true}}
	f, _, logs := newTestFallback(t, primary, secondary)

	res, err := f.Allow(context.Background(), "k", Limit{PerMinute: 60})
	if err != nil || res != primary.res {
		t.Fatalf("got %+v, %v; want the primary's answer %+v", res, err, primary.res)
	}
	if secondary.calls != 0 {
		t.Fatalf("secondary asked %d times while the primary answers", secondary.calls)
	}
	if logs.Len() != 0 {
		t.Fatalf("logged while healthy:\n%s", logs)
	}
}

func TestFallbackWarnsAtMostEvery30Seconds(t *testing.T) {
	primary := &switchable{err: errDown}
	secondary := &switchable{res: Result{Allowed: false, Limit: 2, RetryAfter: time.Second}}
	f, clock, logs := newTestFallback(t, primary, secondary)
	allow := func() Result {
		t.Helper()
		res, err := f.Allow(context.Background(), "k", Limit{PerMinute: 60})
		if err != nil {
			t.Fatalf("Fallback returned an error: %v", err)
		}
		return res
	}
	warnings := func() int { return strings.Count(logs.String(), "level=WARN") }

	for range 10 {
		if res := allow(); res != secondary.res {
			t.Fatalf("got %+v, want the secondary's answer %+v", res, secondary.res)
		}
		clock.Advance(2 * time.Second)
	}
	if n := warnings(); n != 1 {
		t.Fatalf("%d warnings in 20 s of failures, want 1:\n%s", n, logs)
	}

	clock.Advance(11 * time.Second) // 31 s after the first warning
	allow()
	if n := warnings(); n != 2 {
		t.Fatalf("%d warnings after 31 s of failures, want 2:\n%s", n, logs)
	}

	primary.set(nil)
	allow()
	allow()
	if n := strings.Count(logs.String(), "level=INFO"); n != 1 {
		t.Fatalf("%d recovery lines, want 1:\n%s", n, logs)
	}
}

func TestFallbackIgnoresAbandonedRequests(t *testing.T) {
	primary := &switchable{err: context.Canceled}
	f, _, logs := newTestFallback(t, primary, &switchable{res: Result{Allowed: true}})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Allow(ctx, "k", Limit{PerMinute: 60}); err != nil {
		t.Fatalf("Fallback returned an error: %v", err)
	}
	if logs.Len() != 0 {
		t.Fatalf("a canceled request was logged as a backend failure:\n%s", logs)
	}
}

func TestFallbackServesWhenBothBackendsFail(t *testing.T) {
	f, _, _ := newTestFallback(t, &switchable{err: errDown}, &switchable{err: errDown})

	res, err := f.Allow(context.Background(), "k", Limit{PerMinute: 60, Burst: 5})
	if err != nil || !res.Allowed {
		t.Fatalf("got %+v, %v; want allowed without an error", res, err)
	}
}

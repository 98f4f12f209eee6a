package ratelimit

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// warnEvery bounds the warnings logged while the primary limiter fails, so
// that an outage during a traffic peak does not flood the log.
const warnEvery = 30 * time.Second

// fallback answers from primary and, for each call primary fails, from
// secondary.
type fallback struct {
	primary, secondary Limiter
	log                *slog.Logger
	now                func() time.Time

	lastWarn atomic.Int64 // unix nanoseconds of the last warning, 0 for none
	degraded atomic.Bool  // a warning was logged and primary has not answered since
}

// NewFallback returns a Limiter that asks primary (Redis) and, when primary
// returns an error (unreachable, timed out), answers that call from
// fallback (a Memory) instead: limits then hold per instance rather than
// across instances, and requests keep being served. A warning is logged at
// most once per 30 s while primary fails, and an info line once it answers
// again. The returned Limiter never returns an error. log may be nil for
// slog.Default().
func NewFallback(primary, fallback Limiter, log *slog.Logger) Limiter {
	return newFallback(primary, fallback, log, time.Now)
}

func newFallback(primary, secondary Limiter, log *slog.Logger, now func() time.Time) *fallback {
	if log == nil {
		log = slog.Default()
	}
	return &fallback{primary: primary, secondary: secondary, log: log, now: now}
}

func (f *fallback) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	res, err := f.primary.Allow(ctx, key, l)
	if err == nil {
		if f.degraded.CompareAndSwap(true, false) {
			f.log.InfoContext(ctx, "rate limiter: primary backend answers again; limits are shared across instances")
		}
		return res, nil
	}
	// A request abandoned by its client says nothing about the backend.
	if ctx.Err() == nil {
		f.warn(ctx, err)
	}
	res, err = f.secondary.Allow(ctx, key, l)
	if err != nil {
		// Both backends failed: serving without a limit beats refusing
		// every request.
		f.warn(ctx, err)
		return Result{Allowed: true, Limit: l.burst(), Remaining: l.burst()}, nil
	}
	return res, nil
}

func (f *fallback) warn(ctx context.Context, err error) {
	now := f.now().UnixNano()
	last := f.lastWarn.Load()
	if last != 0 && now-last < int64(warnEvery) {
		return
	}
	if !f.lastWarn.CompareAndSwap(last, now) {
		return // another call is logging this round
	}
	f.degraded.Store(true)
	f.log.WarnContext(ctx, "rate limiter: primary backend failed; using per-instance limits",
		slog.String("error", err.Error()))
}

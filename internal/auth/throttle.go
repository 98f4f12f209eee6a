package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"
)

// maxLockout caps the exponential growth of repeated lockouts, so an
// attacker can keep an account locked but never for longer than this at once.
const maxLockout = 24 * time.Hour

// throttleKey is the login_throttle key for a normalized email: a hash, so
// the table never holds addresses and unknown accounts are throttled exactly
// like known ones.
func throttleKey(email string) string {
	sum := sha256.Sum256([]byte(email))
	return hex.EncodeToString(sum[:])
}

// throttle implements per-account failed-login lockout.
//
// Every attempt is counted before its password is checked (and the count is
// cleared by a success or refunded when the check could not run). Counting
// first means that a burst of parallel guesses cannot all slip past a check
// made before any of them failed: at most MaxFailures attempts are ever
// evaluated per lockout period.
//
// Reaching MaxFailures locks the key for Lockout. The failure count lives on
// until FailureWindow has passed since the first failure (or since the last
// lockout ended), so each further MaxFailures failures lock it again for
// twice as long as before, up to maxLockout.
//
// The read-modify-write of a key runs in a transaction that first locks the
// key's row (LockThrottle), so attempts on every instance count one after
// another; an in-process lock striped by key also keeps one instance's
// concurrent attempts from queueing on the database.
type throttle struct {
	store   Store
	tx      UnitOfWork
	max     int64
	window  time.Duration
	lockout time.Duration
	stripes [64]sync.Mutex
}

// admission is the outcome of counting one attempt.
type admission struct {
	// lockedFor is positive when the key is locked and the attempt must be
	// refused without checking the password.
	lockedFor time.Duration
	// prev and saved are the row before and after counting, for refund.
	prev    *Throttle
	saved   Throttle
	counted bool
}

func (t *throttle) stripe(key string) *sync.Mutex {
	// Keys are hex SHA-256, so their first byte is uniformly spread.
	var h byte
	if b, err := hex.DecodeString(key[:min(2, len(key))]); err == nil && len(b) == 1 {
		h = b[0]
	}
	return &t.stripes[int(h)%len(t.stripes)]
}

// admit counts an attempt for key, or reports that key is locked.
func (t *throttle) admit(ctx context.Context, key string, now time.Time) (admission, error) {
	mu := t.stripe(key)
	mu.Lock()
	defer mu.Unlock()
	var a admission
	err := t.tx.InTx(ctx, func(st Stores) error {
		tx := st.Credentials()
		a = admission{}
		cur, err := tx.LockThrottle(ctx, key, now)
		if err != nil {
			return err
		}
		if cur.Failures > 0 || cur.LockedUntil != nil {
			prev := cur
			a.prev = &prev
		}
		if cur.LockedUntil != nil && now.Before(*cur.LockedUntil) {
			a.lockedFor = cur.LockedUntil.Sub(now)
			return nil
		}
		if t.expired(cur, now) {
			cur = Throttle{Key: key, FirstFailureAt: now}
		}
		cur.Failures++
		if cur.Failures%t.max == 0 {
			until := now.Add(t.lockoutFor(cur.Failures))
			cur.LockedUntil = &until
		}
		if err := tx.SaveThrottle(ctx, cur); err != nil {
			return err
		}
		a.saved, a.counted = cur, true
		return nil
	})
	return a, err
}

// refund takes back an attempt whose password was never checked (the hasher
// was saturated, the request was cancelled, the database failed), so that
// load or errors never lock anyone out. If other attempts were counted in the
// meantime only the count goes down.
func (t *throttle) refund(ctx context.Context, key string, a admission) error {
	if !a.counted {
		return nil
	}
	mu := t.stripe(key)
	mu.Lock()
	defer mu.Unlock()
	return t.tx.InTx(ctx, func(st Stores) error {
		tx := st.Credentials()
		cur, err := tx.LockThrottle(ctx, key, a.saved.FirstFailureAt)
		if err != nil {
			return err
		}
		if cur.Failures == 0 && cur.LockedUntil == nil {
			return tx.ClearThrottle(ctx, key) // cleared by a success in the meantime
		}
		if sameThrottle(cur, a.saved) {
			if a.prev == nil {
				return tx.ClearThrottle(ctx, key)
			}
			return tx.SaveThrottle(ctx, *a.prev)
		}
		if cur.Failures > 0 {
			cur.Failures--
		}
		return tx.SaveThrottle(ctx, cur)
	})
}

// clear forgets every failure of key after a successful login or a password reset.
func (t *throttle) clear(ctx context.Context, key string) error {
	mu := t.stripe(key)
	mu.Lock()
	defer mu.Unlock()
	return t.store.ClearThrottle(ctx, key)
}

// expired reports whether the failures recorded in th are too old to count.
func (t *throttle) expired(th Throttle, now time.Time) bool {
	since := th.FirstFailureAt
	if th.LockedUntil != nil && th.LockedUntil.After(since) {
		since = *th.LockedUntil
	}
	return now.Sub(since) >= t.window
}

// lockoutFor returns the lock duration when failures reaches a multiple of
// max: Lockout, then doubling with each further lockout.
func (t *throttle) lockoutFor(failures int64) time.Duration {
	limit := max(maxLockout, t.lockout)
	d := t.lockout
	for n := failures / t.max; n > 1 && d < limit; n-- {
		d *= 2
	}
	return min(d, limit)
}

func sameThrottle(a, b Throttle) bool {
	if a.Failures != b.Failures || !a.FirstFailureAt.Equal(b.FirstFailureAt) {
		return false
	}
	if (a.LockedUntil == nil) != (b.LockedUntil == nil) {
		return false
	}
	return a.LockedUntil == nil || a.LockedUntil.Equal(*b.LockedUntil)
}

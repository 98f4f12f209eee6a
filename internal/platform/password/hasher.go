// Package password hashes and verifies passwords with Argon2id and checks new
// passwords against a composition policy.
//
// Argon2id is deliberately expensive in memory, so every hash and verify runs
// under a bounded semaphore: a flood of login attempts queues briefly and is
// then refused with ErrBusy instead of allocating memory without limit.
package password

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/alexedwards/argon2id"
)

const (
	saltLength = 16
	keyLength  = 32

	// Stored hashes are trusted data, but a corrupted or tampered row must
	// not be able to make one verify allocate gigabytes or spin for
	// minutes. Hashes above these bounds (or above h's own parameters, if
	// those are higher) are treated as malformed.
	maxStoredMemoryKiB  = 1 << 20 // 1 GiB
	maxStoredIterations = 64

	// RFC 9106 minimum salt length; anything shorter is not a hash this
	// package would ever have written.
	minStoredSaltLength = 8
	// A short tag makes collisions with a guessed password cheap, and an
	// empty one would match every password.
	minStoredKeyLength = 16
)

// ErrBusy is returned when no hashing slot frees up within the queue
// timeout. Callers answer 503 with Retry-After.
var ErrBusy = errors.New("password hashing is saturated")

// ErrMalformedHash is wrapped by Verify when the stored hash cannot be
// parsed or has parameters outside the accepted bounds.
var ErrMalformedHash = errors.New("malformed password hash")

// Params are the Argon2id cost parameters. A zero field takes the value from
// DefaultParams.
type Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
}

// DefaultParams returns the OWASP password storage recommendation for
// Argon2id: 19 MiB of memory, 2 iterations, 1 lane.
func DefaultParams() Params {
	return Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1}
}

func (p Params) withDefaults() Params {
	d := DefaultParams()
	if p.MemoryKiB == 0 {
		p.MemoryKiB = d.MemoryKiB
	}
	if p.Iterations == 0 {
		p.Iterations = d.Iterations
	}
	if p.Parallelism == 0 {
		p.Parallelism = d.Parallelism
	}
	return p
}

// Hasher hashes and verifies passwords with bounded concurrency. It is safe
// for concurrent use.
type Hasher struct {
	params       Params
	argon        argon2id.Params
	sem          chan struct{}
	queueTimeout time.Duration
	waiting      atomic.Int64
	dummy        string

	// holdHook, when set, runs while a slot is held; tests use it to keep
	// the slot busy deterministically.
	holdHook func()
}

// NewHasher returns a Hasher that runs at most concurrency Argon2id
// computations at once (values below 1 mean 1) and lets a caller wait at most
// queueTimeout for a slot. Peak memory is therefore about
// concurrency*MemoryKiB.
//
// It computes one hash up front for DummyVerify, so construction costs about
// one hash.
func NewHasher(p Params, concurrency int, queueTimeout time.Duration) *Hasher {
	p = p.withDefaults()
	h := &Hasher{
		params: p,
		argon: argon2id.Params{
			Memory:      p.MemoryKiB,
			Iterations:  p.Iterations,
			Parallelism: p.Parallelism,
			SaltLength:  saltLength,
			KeyLength:   keyLength,
		},
		sem:          make(chan struct{}, max(concurrency, 1)),
		queueTimeout: max(queueTimeout, 0),
	}

	// The dummy password is random so that no real password can ever match
	// it, which keeps DummyVerify free of any accidental success path.
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails since Go 1.24
	dummy, err := argon2id.CreateHash(base64.RawStdEncoding.EncodeToString(secret), &h.argon)
	if err != nil {
		panic(fmt.Sprintf("password: creating the dummy hash: %v", err))
	}
	h.dummy = dummy
	return h
}

// Params returns the effective parameters, after defaults were applied.
func (h *Hasher) Params() Params { return h.params }

// Hash returns an Argon2id hash of pw in PHC string format
// ($argon2id$v=19$m=...,t=...,p=...$salt$key).
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	encoded, err := argon2id.CreateHash(pw, &h.argon)
	if err != nil {
		return "", fmt.Errorf("password: hashing: %w", err)
	}
	return encoded, nil
}

// Verify reports whether pw matches encoded. On a match, rehash is true when
// encoded was made with parameters other than h's, and the caller should
// store a fresh Hash of pw. A malformed encoded hash returns an error
// wrapping ErrMalformedHash; a saturated hasher returns ErrBusy, and a
// context that ends while waiting returns ctx.Err().
func (h *Hasher) Verify(ctx context.Context, pw, encoded string) (match, rehash bool, err error) {
	// Parse before queueing so a broken row costs no Argon2id work.
	stored, err := h.decode(encoded)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	match, err = argon2id.ComparePasswordAndHash(pw, encoded)
	if err != nil {
		return false, false, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	if !match {
		return false, false, nil
	}
	return true, *stored != h.argon, nil
}

// DummyVerify runs one full verify against a hash made at construction with
// h's parameters, so that a login for an unknown account takes as long as
// one for a known account and does not reveal which accounts exist. It
// returns ErrBusy or ctx.Err() like Verify, and nil otherwise.
func (h *Hasher) DummyVerify(ctx context.Context, pw string) error {
	if err := h.acquire(ctx); err != nil {
		return err
	}
	defer h.release()
	if _, err := argon2id.ComparePasswordAndHash(pw, h.dummy); err != nil {
		return fmt.Errorf("password: dummy verify: %w", err)
	}
	return nil
}

// Stats reports how many slots are busy and how many callers are queued,
// for metrics and saturation alerts.
func (h *Hasher) Stats() (inUse, waiting int) {
	return len(h.sem), int(h.waiting.Load())
}

func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case h.sem <- struct{}{}:
		h.hold()
		return nil
	default:
	}
	if h.queueTimeout <= 0 {
		return ErrBusy
	}

	h.waiting.Add(1)
	defer h.waiting.Add(-1)
	timer := time.NewTimer(h.queueTimeout)
	defer timer.Stop()
	select {
	case h.sem <- struct{}{}:
		h.hold()
		return nil
	case <-timer.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) hold() {
	if h.holdHook != nil {
		h.holdHook()
	}
}

func (h *Hasher) release() { <-h.sem }

// decode parses encoded and rejects parameters that could not have come from
// a sane hasher. Without these checks a zero iteration or lane count makes
// the underlying argon2 package panic, and an empty key compares equal to
// any password.
func (h *Hasher) decode(encoded string) (*argon2id.Params, error) {
	p, salt, key, err := argon2id.DecodeHash(encoded)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	switch {
	case p.Iterations < 1 || p.Iterations > max(maxStoredIterations, h.params.Iterations):
		return nil, fmt.Errorf("%w: iterations %d out of range", ErrMalformedHash, p.Iterations)
	case p.Parallelism < 1:
		return nil, fmt.Errorf("%w: parallelism is zero", ErrMalformedHash)
	case p.Memory < 8*uint32(p.Parallelism) || p.Memory > max(maxStoredMemoryKiB, h.params.MemoryKiB):
		return nil, fmt.Errorf("%w: memory %d KiB out of range", ErrMalformedHash, p.Memory)
	case len(salt) < minStoredSaltLength:
		return nil, fmt.Errorf("%w: salt too short", ErrMalformedHash)
	case len(key) < minStoredKeyLength:
		return nil, fmt.Errorf("%w: key too short", ErrMalformedHash)
	}
	return p, nil
}

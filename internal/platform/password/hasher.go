// Package password hashes and verifies passwords with Argon2id and checks new
// passwords against a composition policy.
//
// Argon2id is deliberately expensive in memory and CPU, so the Hasher admits
// work: at most Concurrency hashes run at once, at most QueueDepth more
// callers wait for a slot, and everyone beyond that is refused at once with
// ErrBusy. A login flood therefore costs bounded memory, the callers that are
// admitted are served within a few hash times, and the rest learn straight
// away that they should come back later, instead of each holding a
// connection (and its memory) for a queue timeout only to be refused anyway.
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
	"golang.org/x/crypto/argon2"
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

// ErrBusy is returned at once when every slot is busy and the queue is full,
// and to an admitted caller whose wait outlasts the queue timeout (which a
// queue sized for a few hash times never reaches). Callers answer 429 with
// Retry-After: the request was sound, the client should send it again later.
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

// Limits bound the work a Hasher takes on.
type Limits struct {
	// Concurrency is how many Argon2id computations run at once (values
	// below 1 mean 1). Peak hashing memory is Concurrency*MemoryKiB. Within
	// a second of a refusal, one fewer runs (never fewer than one).
	Concurrency int
	// QueueDepth is how many more callers may wait for a slot (negative
	// means 0). Callers beyond Concurrency+QueueDepth are refused at once.
	// Size it so that the last one waits a few hash times at most:
	// QueueDepth/Concurrency hash durations.
	QueueDepth int
	// QueueTimeout caps the wait of an admitted caller for a slot, a
	// backstop for hashes slowed down by an overloaded machine; zero or
	// negative leaves only the caller's context to end the wait.
	QueueTimeout time.Duration
}

// Hasher hashes and verifies passwords with bounded concurrency and a
// bounded queue. It is safe for concurrent use.
type Hasher struct {
	params Params
	argon  argon2id.Params
	// sem holds the running hashes' slots but one; spare is the last slot,
	// which a hash takes only while no caller was refused for a second.
	sem, spare   chan struct{}
	admitLimit   int64
	admitted     atomic.Int64
	refused      atomic.Uint64
	epoch        time.Time // monotonic origin of lastRefused
	floodWindow  time.Duration
	lastRefused  atomic.Int64 // nanoseconds after epoch, plus one; 0: never
	queueTimeout time.Duration
	waiting      atomic.Int64
	dummy        string

	// holdHook, when set, runs while a slot is held; tests use it to keep
	// the slot busy deterministically.
	holdHook func()
}

// NewHasher returns a Hasher with parameters p (zero fields take
// DefaultParams) under limits l.
func NewHasher(p Params, l Limits) *Hasher {
	p = p.withDefaults()
	conc := max(l.Concurrency, 1)
	h := &Hasher{
		params: p,
		argon: argon2id.Params{
			Memory:      p.MemoryKiB,
			Iterations:  p.Iterations,
			Parallelism: p.Parallelism,
			SaltLength:  saltLength,
			KeyLength:   keyLength,
		},
		sem:          make(chan struct{}, conc),
		epoch:        time.Now(),
		floodWindow:  floodWindow,
		admitLimit:   int64(conc + max(l.QueueDepth, 0)),
		queueTimeout: max(l.QueueTimeout, 0),
	}

	if conc > 1 {
		h.sem, h.spare = make(chan struct{}, conc-1), make(chan struct{}, 1)
	}
	h.dummy = dummyHash(h.argon)
	return h
}

// floodWindow is how long after a refusal hashing keeps its last slot free.
const floodWindow = time.Second

// refuse counts a refused caller and starts (or extends) a flood.
func (h *Hasher) refuse() {
	h.refused.Add(1)
	h.lastRefused.Store(int64(time.Since(h.epoch)) + 1)
}

// flooding reports whether a caller was refused within the last floodWindow.
// While callers are being refused, the machine has more work than it can
// do; a hash then leaves one CPU to everything else the server does
// (answering refusals at once, serving reads), which would otherwise wait
// behind hashes that cannot yield for tens of milliseconds.
func (h *Hasher) flooding() bool {
	last := h.lastRefused.Load()
	return last != 0 && int64(time.Since(h.epoch))+1-last < int64(h.floodWindow)
}

// dummyHash is a hash in argon2id's PHC format with h's parameters whose
// salt and key are random. Verifying against it costs exactly one Argon2id
// computation, like a real account's hash; no password matches it, since
// that would take a preimage of a random key. Drawing the key at random
// instead of hashing a random password keeps start-up free of a 19 MiB,
// tens-of-milliseconds hash that nothing needs yet.
func dummyHash(p argon2id.Params) string {
	salt, key := make([]byte, p.SaltLength), make([]byte, p.KeyLength)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails since Go 1.24
	_, _ = rand.Read(key)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Iterations, p.Parallelism,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// Params returns the effective parameters, after defaults were applied.
func (h *Hasher) Params() Params { return h.params }

// Reservation is one caller's admission: its place among the callers the
// Hasher serves. Taking it before any other work (a database write, say)
// lets a caller that would be refused anyway be refused before that work.
// The hashes made through it run one after another, each waiting for a
// slot; Release gives the place back. A Reservation belongs to one
// goroutine.
type Reservation struct {
	h        *Hasher
	released bool
}

// Reserve admits one caller, or returns ErrBusy at once when the running
// hashes and the queue are full. The caller must Release the reservation.
func (h *Hasher) Reserve() (*Reservation, error) {
	if h.admitted.Add(1) > h.admitLimit {
		h.admitted.Add(-1)
		h.refuse()
		return nil, ErrBusy
	}
	return &Reservation{h: h}, nil
}

// Admits returns ErrBusy, and counts a refusal, when a Reserve now would be
// refused. It reserves nothing: a caller it lets through may still be
// refused by Reserve. It lets a server turn away, during a flood, a request
// that would hash before it spends anything on reading and checking it.
func (h *Hasher) Admits() error {
	if h.admitted.Load() >= h.admitLimit {
		h.refuse()
		return ErrBusy
	}
	return nil
}

// Release gives the reservation's place back. Releasing twice, or a nil
// reservation, does nothing, so a deferred Release can follow an early one.
func (r *Reservation) Release() {
	if r == nil || r.released {
		return
	}
	r.released = true
	r.h.admitted.Add(-1)
}

// Hash is Hasher.Hash within the reservation.
func (r *Reservation) Hash(ctx context.Context, pw string) (string, error) {
	slot, err := r.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release(slot)
	encoded, err := argon2id.CreateHash(pw, &r.h.argon)
	if err != nil {
		return "", fmt.Errorf("password: hashing: %w", err)
	}
	return encoded, nil
}

// Verify is Hasher.Verify within the reservation.
func (r *Reservation) Verify(ctx context.Context, pw, encoded string) (match, rehash bool, err error) {
	// Parse before queueing so a broken row costs no Argon2id work.
	stored, err := r.h.decode(encoded)
	if err != nil {
		return false, false, err
	}
	slot, err := r.acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer release(slot)
	match, err = argon2id.ComparePasswordAndHash(pw, encoded)
	if err != nil {
		return false, false, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	if !match {
		return false, false, nil
	}
	return true, *stored != r.h.argon, nil
}

// DummyVerify is Hasher.DummyVerify within the reservation.
func (r *Reservation) DummyVerify(ctx context.Context, pw string) error {
	slot, err := r.acquire(ctx)
	if err != nil {
		return err
	}
	defer release(slot)
	if _, err := argon2id.ComparePasswordAndHash(pw, r.h.dummy); err != nil {
		return fmt.Errorf("password: dummy verify: %w", err)
	}
	return nil
}

// acquire waits for a slot. A released reservation is no admission at all.
func (r *Reservation) acquire(ctx context.Context) (chan struct{}, error) {
	if r.released {
		return nil, errors.New("password: reservation used after Release")
	}
	return r.h.acquire(ctx)
}

// Hash returns an Argon2id hash of pw in PHC string format
// ($argon2id$v=19$m=...,t=...,p=...$salt$key). A saturated hasher returns
// ErrBusy, and a context that ends while waiting returns ctx.Err().
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	r, err := h.Reserve()
	if err != nil {
		return "", err
	}
	defer r.Release()
	return r.Hash(ctx, pw)
}

// Verify reports whether pw matches encoded. On a match, rehash is true when
// encoded was made with parameters other than h's, and the caller should
// store a fresh Hash of pw. A malformed encoded hash returns an error
// wrapping ErrMalformedHash; a saturated hasher returns ErrBusy, and a
// context that ends while waiting returns ctx.Err().
func (h *Hasher) Verify(ctx context.Context, pw, encoded string) (match, rehash bool, err error) {
	r, err := h.Reserve()
	if err != nil {
		return false, false, err
	}
	defer r.Release()
	return r.Verify(ctx, pw, encoded)
}

// DummyVerify runs one full verify against a hash with h's parameters, so
// that a login for an unknown account takes as long as one for a known
// account and does not reveal which accounts exist. It
// returns ErrBusy or ctx.Err() like Verify, and nil otherwise.
func (h *Hasher) DummyVerify(ctx context.Context, pw string) error {
	r, err := h.Reserve()
	if err != nil {
		return err
	}
	defer r.Release()
	return r.DummyVerify(ctx, pw)
}

// Stats reports how many slots are busy and how many admitted callers wait
// for one, for metrics and saturation alerts.
func (h *Hasher) Stats() (inUse, waiting int) {
	return len(h.sem) + len(h.spare), int(h.waiting.Load())
}

// Refused counts the callers refused so far because the queue was full or
// their wait outlasted the queue timeout.
func (h *Hasher) Refused() uint64 { return h.refused.Load() }

// acquire waits for a slot and returns it, to be given back with release.
// The spare slot is taken only while there is no flood.
func (h *Hasher) acquire(ctx context.Context) (chan struct{}, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	spare := h.spare
	if h.flooding() {
		spare = nil // a nil channel is never ready
	}
	select {
	case h.sem <- struct{}{}:
		h.hold()
		return h.sem, nil
	case spare <- struct{}{}:
		h.hold()
		return spare, nil
	default:
	}

	h.waiting.Add(1)
	defer h.waiting.Add(-1)
	var expired <-chan time.Time
	if h.queueTimeout > 0 {
		timer := time.NewTimer(h.queueTimeout)
		defer timer.Stop()
		expired = timer.C
	}
	select {
	case h.sem <- struct{}{}:
		h.hold()
		return h.sem, nil
	case spare <- struct{}{}:
		h.hold()
		return spare, nil
	case <-expired:
		h.refuse()
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (h *Hasher) hold() {
	if h.holdHook != nil {
		h.holdHook()
	}
}

// release gives back a slot that acquire returned.
func release(slot chan struct{}) { <-slot }

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

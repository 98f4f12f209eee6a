package password

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

var fastParams = Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

func TestHashAndVerify(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(fastParams, Limits{Concurrency: 2, QueueDepth: 2, QueueTimeout: time.Second})

	encoded, err := h.Hash(ctx, "Correct horse 1")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if !strings.HasPrefix(encoded, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("unexpected encoding %q", encoded)
	}
	again, err := h.Hash(ctx, "Correct horse 1")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if again == encoded {
		t.Fatal("two hashes of the same password are identical; salt is not random")
	}

	match, rehash, err := h.Verify(ctx, "Correct horse 1", encoded)
	if err != nil || !match || rehash {
		t.Fatalf("Verify(right) = %v, %v, %v; want true, false, nil", match, rehash, err)
	}
	match, rehash, err = h.Verify(ctx, "Correct horse 2", encoded)
	if err != nil || match || rehash {
		t.Fatalf("Verify(wrong) = %v, %v, %v; want false, false, nil", match, rehash, err)
	}
}

func TestVerifyRehash(t *testing.T) {
	ctx := context.Background()
	old := NewHasher(fastParams, Limits{Concurrency: 1, QueueDepth: 1, QueueTimeout: time.Second})
	encoded, err := old.Hash(ctx, "pw")
	if err != nil {
		t.Fatal(err)
	}

	for name, p := range map[string]Params{
		"memory":      {MemoryKiB: 128, Iterations: 1, Parallelism: 1},
		"iterations":  {MemoryKiB: 64, Iterations: 2, Parallelism: 1},
		"parallelism": {MemoryKiB: 64, Iterations: 1, Parallelism: 2},
	} {
		t.Run(name, func(t *testing.T) {
			match, rehash, err := NewHasher(p, Limits{Concurrency: 1, QueueDepth: 1, QueueTimeout: time.Second}).Verify(ctx, "pw", encoded)
			if err != nil || !match || !rehash {
				t.Fatalf("Verify = %v, %v, %v; want true, true, nil", match, rehash, err)
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	h := NewHasher(fastParams, Limits{Concurrency: 1, QueueDepth: 1, QueueTimeout: time.Second})
	const salt = "c29tZXNhbHRzb21lc2FsdA"                     // 16 bytes
	const key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" // 32 bytes
	for name, encoded := range map[string]string{
		"empty":          "",
		"garbage":        "not a hash",
		"bcrypt":         "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i":        "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"zero time":      "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key,
		"zero lanes":     "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key,
		"huge memory":    "$argon2id$v=19$m=4000000000,t=1,p=1$" + salt + "$" + key,
		"empty key":      "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$",
		"short salt":     "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + key,
		"bad base64 key": "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$***",
	} {
		t.Run(name, func(t *testing.T) {
			match, _, err := h.Verify(context.Background(), "pw", encoded)
			if !errors.Is(err, ErrMalformedHash) || match {
				t.Fatalf("Verify = %v, %v; want ErrMalformedHash", match, err)
			}
		})
	}
}

func TestDummyVerify(t *testing.T) {
	h := NewHasher(fastParams, Limits{Concurrency: 1, QueueDepth: 1, QueueTimeout: time.Second})
	if err := h.DummyVerify(context.Background(), "anything"); err != nil {
		t.Fatalf("DummyVerify: %v", err)
	}
	if !strings.HasPrefix(h.dummy, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("dummy hash %q does not use the hasher's params", h.dummy)
	}
	// It passes Verify's own checks of a stored hash, so verifying against
	// it does the full work, and it matches nothing.
	match, _, err := h.Verify(context.Background(), "anything", h.dummy)
	if err != nil || match {
		t.Fatalf("Verify against the dummy = %v, %v; want no match and no error", match, err)
	}
	if other := NewHasher(fastParams, Limits{Concurrency: 1}); other.dummy == h.dummy {
		t.Fatal("two hashers share a dummy hash")
	}
}

func TestDefaults(t *testing.T) {
	h := NewHasher(Params{MemoryKiB: 64, Iterations: 1}, Limits{Concurrency: 0, QueueDepth: -3})
	if got := h.Params(); got != (Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}) {
		t.Fatalf("Params = %+v", got)
	}
	if cap(h.sem) != 1 || h.admitLimit != 1 {
		t.Fatalf("concurrency = %d, admitted at most %d; want 1 and 1", cap(h.sem), h.admitLimit)
	}
	if DefaultParams() != (Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1}) {
		t.Fatalf("DefaultParams = %+v", DefaultParams())
	}
}

// holdSlot makes the next slot acquisition on h block until the returned
// release function is called, and returns once that slot is held.
func holdSlot(t *testing.T, h *Hasher, op func() error) (release func() error) {
	t.Helper()
	held := make(chan struct{})
	unblock := make(chan struct{})
	var once sync.Once
	h.holdHook = func() {
		once.Do(func() {
			close(held)
			<-unblock
		})
	}
	done := make(chan error, 1)
	go func() { done <- op() }()
	select {
	case <-held:
	case <-time.After(5 * time.Second):
		t.Fatal("first call never acquired the slot")
	}
	return func() error {
		close(unblock)
		return <-done
	}
}

// Callers beyond the running hashes and the queue are refused before they
// wait for anything; admitted callers keep their place until they release it.
func TestAdmission(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(fastParams, Limits{Concurrency: 1, QueueDepth: 2, QueueTimeout: time.Hour})
	encoded, err := h.Hash(ctx, "pw")
	if err != nil {
		t.Fatal(err)
	}

	var held []*Reservation
	for i := range 3 {
		r, err := h.Reserve()
		if err != nil {
			t.Fatalf("reservation %d of 3: %v", i+1, err)
		}
		held = append(held, r)
	}
	if r, err := h.Reserve(); !errors.Is(err, ErrBusy) || r != nil {
		t.Fatalf("fourth Reserve = %v, %v; want nil, ErrBusy", r, err)
	}
	if n := h.Refused(); n != 1 {
		t.Fatalf("Refused = %d after one refusal", n)
	}
	// The queue timeout is an hour: these can only return now if they were
	// refused without waiting.
	if _, err := h.Hash(ctx, "pw"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Hash while full: err = %v, want ErrBusy", err)
	}
	if _, _, err := h.Verify(ctx, "pw", encoded); !errors.Is(err, ErrBusy) {
		t.Fatalf("Verify while full: err = %v, want ErrBusy", err)
	}
	if err := h.DummyVerify(ctx, "pw"); !errors.Is(err, ErrBusy) {
		t.Fatalf("DummyVerify while full: err = %v, want ErrBusy", err)
	}

	// A reservation serves several hashes in a row without giving up its place.
	r := held[0]
	fresh, err := r.Hash(ctx, "new pw")
	if err != nil {
		t.Fatal(err)
	}
	if match, _, err := r.Verify(ctx, "new pw", fresh); err != nil || !match {
		t.Fatalf("Verify within the reservation = %v, %v", match, err)
	}
	if err := r.DummyVerify(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Reserve(); !errors.Is(err, ErrBusy) {
		t.Fatalf("Reserve after hashing within a held reservation: err = %v, want ErrBusy", err)
	}

	r.Release()
	r.Release() // a second release must not free a second place
	if _, err := r.Hash(ctx, "pw"); err == nil || errors.Is(err, ErrBusy) {
		t.Fatalf("Hash on a released reservation: err = %v, want a usage error", err)
	}
	again, err := h.Reserve()
	if err != nil {
		t.Fatalf("Reserve after a release: %v", err)
	}
	if _, err := h.Reserve(); !errors.Is(err, ErrBusy) {
		t.Fatalf("double Release freed two places: err = %v", err)
	}
	again.Release()
	held[1].Release()
	held[2].Release()
	var none *Reservation
	none.Release()
	if match, _, err := h.Verify(ctx, "pw", encoded); err != nil || !match {
		t.Fatalf("Verify after every release = %v, %v", match, err)
	}
}

// Once a caller has been refused, hashes leave one CPU to the rest of the
// server: with two slots, one hash runs at a time until a refusal-free
// window has passed, and then two again.
func TestFloodLeavesACPU(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(fastParams, Limits{Concurrency: 2, QueueDepth: 2, QueueTimeout: time.Hour})
	h.floodWindow = 200 * time.Millisecond
	entered, unblock := make(chan struct{}, 4), make(chan struct{})
	h.holdHook = func() {
		entered <- struct{}{}
		<-unblock
	}
	// running starts two hashes and reports how many of them hold a slot
	// before either ends; then it lets them finish.
	running := func() int {
		t.Helper()
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				if err := h.DummyVerify(ctx, "pw"); err != nil {
					t.Error(err)
				}
			})
		}
		waitFor(t, func() bool { inUse, waiting := h.Stats(); return inUse+waiting == 2 })
		inUse, _ := h.Stats()
		for range 2 {
			unblock <- struct{}{}
		}
		wg.Wait()
		for len(entered) > 0 {
			<-entered
		}
		return inUse
	}

	if n := running(); n != 2 {
		t.Fatalf("before any refusal, %d hashes ran at once, want 2", n)
	}
	var held []*Reservation
	for range 4 {
		r, err := h.Reserve()
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, r)
	}
	if err := h.Admits(); !errors.Is(err, ErrBusy) {
		t.Fatalf("Admits with every place taken = %v, want ErrBusy", err)
	}
	for _, r := range held {
		r.Release()
	}
	if n := running(); n != 1 {
		t.Fatalf("right after a refusal, %d hashes ran at once, want 1", n)
	}
	waitFor(t, func() bool { return !h.flooding() })
	if n := running(); n != 2 {
		t.Fatalf("a refusal-free window later, %d hashes ran at once, want 2", n)
	}
	if h.Refused() != 1 {
		t.Fatalf("Refused = %d, want 1", h.Refused())
	}
}

func TestQueuedCallerIsServed(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(fastParams, Limits{Concurrency: 1, QueueDepth: 1, QueueTimeout: time.Hour})
	release := holdSlot(t, h, func() error { return h.DummyVerify(ctx, "x") })
	if inUse, waiting := h.Stats(); inUse != 1 || waiting != 0 {
		t.Fatalf("Stats while held = %d, %d; want 1, 0", inUse, waiting)
	}

	queued := make(chan error, 1)
	go func() { queued <- h.DummyVerify(ctx, "y") }()
	waitFor(t, func() bool { _, w := h.Stats(); return w == 1 })
	// Slot and queue are full: the next caller is refused, not queued.
	if err := h.DummyVerify(ctx, "z"); !errors.Is(err, ErrBusy) {
		t.Fatalf("third caller: err = %v, want ErrBusy", err)
	}
	if err := release(); err != nil {
		t.Fatalf("held DummyVerify: %v", err)
	}
	if err := <-queued; err != nil {
		t.Fatalf("queued DummyVerify: %v", err)
	}
	if inUse, waiting := h.Stats(); inUse != 0 || waiting != 0 {
		t.Fatalf("Stats after = %d, %d; want 0, 0", inUse, waiting)
	}
}

// The queue timeout is a backstop: an admitted caller whose slot never
// comes is refused like one that found the queue full.
func TestQueueTimeout(t *testing.T) {
	h := NewHasher(fastParams, Limits{Concurrency: 1, QueueDepth: 1, QueueTimeout: 10 * time.Millisecond})
	release := holdSlot(t, h, func() error { return h.DummyVerify(context.Background(), "x") })
	defer func() { _ = release() }()
	if _, err := h.Hash(context.Background(), "pw"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Hash: err = %v, want ErrBusy", err)
	}
	if n := h.Refused(); n != 1 {
		t.Fatalf("Refused = %d after one timed-out wait", n)
	}
}

func TestContextEndsWhileQueued(t *testing.T) {
	h := NewHasher(fastParams, Limits{Concurrency: 1, QueueDepth: 1})
	release := holdSlot(t, h, func() error { return h.DummyVerify(context.Background(), "x") })
	defer func() { _ = release() }()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Hash: err = %v, want context.DeadlineExceeded", err)
	}

	cancelled, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	if _, _, err := h.Verify(cancelled, "pw", h.dummy); !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify with a cancelled context: err = %v, want context.Canceled", err)
	}
}

func TestZeroQueueDepthRefusesWhileBusy(t *testing.T) {
	h := NewHasher(fastParams, Limits{Concurrency: 1, QueueTimeout: time.Hour})
	release := holdSlot(t, h, func() error { return h.DummyVerify(context.Background(), "x") })
	defer func() { _ = release() }()
	if err := h.DummyVerify(context.Background(), "pw"); !errors.Is(err, ErrBusy) {
		t.Fatalf("err = %v, want ErrBusy", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(fastParams, Limits{Concurrency: 2, QueueDepth: 14, QueueTimeout: 10 * time.Second})
	encoded, err := h.Hash(ctx, "pw")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			match, _, err := h.Verify(ctx, "pw", encoded)
			if err == nil && !match {
				err = errors.New("no match")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := h.admitted.Load(); n != 0 {
		t.Fatalf("%d places still taken after every caller returned", n)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestPolicy(t *testing.T) {
	p := Policy{MinLength: 8, MaxLength: 12, RequireUpper: true, RequireDigit: true}
	tests := []struct {
		name string
		pw   string
		rule string
	}{
		{"ok", "Abcdefg1", ""},
		{"exactly min", "Abcdef12", ""},
		{"exactly max", "Abcdefghij12", ""},
		{"too short", "Abcde1", RuleMinLength},
		{"empty", "", RuleMinLength},
		{"too long", "Abcdefghijk12", RuleMaxLength},
		{"no upper", "abcdefg1", RuleUpper},
		{"no digit", "Abcdefgh", RuleDigit},
		{"unicode upper", "éééééé1É", ""},
		{"unicode lower only", "éééééé1é", RuleUpper},
		{"non-ascii digit", "Abcdefg٣", ""},
		// Eight code points but sixteen bytes: length is counted in runes.
		{"multibyte at min", "Ééééééé1", ""},
		{"multibyte at max", "Éééééééééé11", ""},
		{"multibyte over max", "Ééééééééééé11", RuleMaxLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Check(tt.pw)
			if tt.rule == "" {
				if err != nil {
					t.Fatalf("Check(%q) = %v, want nil", tt.pw, err)
				}
				return
			}
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("Check(%q) = %v, want *PolicyError", tt.pw, err)
			}
			if pe.Rule != tt.rule {
				t.Fatalf("Check(%q).Rule = %q, want %q", tt.pw, pe.Rule, tt.rule)
			}
			if pe.Error() != pe.Msg || pe.Msg == "" {
				t.Fatalf("Error() = %q, Msg = %q", pe.Error(), pe.Msg)
			}
		})
	}

	msgs := map[string]string{
		RuleMinLength: "password must be at least 8 characters",
		RuleMaxLength: "password must be at most 12 characters",
		RuleUpper:     "password must contain an uppercase letter",
		RuleDigit:     "password must contain a digit",
	}
	for pw, rule := range map[string]string{"a": RuleMinLength, "Abcdefghijk12": RuleMaxLength, "abcdefg1": RuleUpper, "Abcdefgh": RuleDigit} {
		if got := p.Check(pw).Error(); got != msgs[rule] {
			t.Errorf("message for %s = %q, want %q", rule, got, msgs[rule])
		}
	}

	if err := (Policy{}).Check(""); err != nil {
		t.Fatalf("zero Policy rejected the empty password: %v", err)
	}
}

func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	h := NewHasher(DefaultParams(), Limits{Concurrency: 1, QueueTimeout: time.Minute})
	encoded, err := h.Hash(ctx, "Correct horse battery staple 1")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if match, _, err := h.Verify(ctx, "Correct horse battery staple 1", encoded); err != nil || !match {
			b.Fatalf("Verify = %v, %v", match, err)
		}
	}
}

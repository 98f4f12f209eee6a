package mail_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"secureapi/internal/audit"
	"secureapi/internal/mail"
	"secureapi/internal/store"
	"secureapi/internal/store/sqlstore"
	"secureapi/internal/testutil/testdb"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// recorder is a Mailer that keeps what it was given and fails for the
// addresses in fail.
type recorder struct {
	mu   sync.Mutex
	sent []mail.Message
	fail map[string]bool
}

func (r *recorder) Send(_ context.Context, m mail.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail[m.To] {
		return fmt.Errorf("550 mailbox unavailable: <%s>", m.To)
	}
	r.sent = append(r.sent, m)
	return nil
}

func (r *recorder) count(to string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.sent {
		if to == "" || m.To == to {
			n++
		}
	}
	return n
}

type env struct {
	db    store.DB
	st    store.Stores
	unit  sqlstore.Unit[mail.Stores]
	audit *audit.Service
	clock *clock
	queue *mail.Queue
}

func newEnv(t *testing.T, db store.DB, perRecipient int) *env {
	e := &env{db: db, st: store.New(db), clock: &clock{t: time.Now().UTC()}}
	e.unit = store.Unit(db, func(tx *sqlstore.Tx) mail.Stores { return tx })
	e.audit = audit.NewService(e.st.Audit, slog.New(slog.DiscardHandler), e.clock.Now)
	e.queue = mail.NewQueue(mail.QueueConfig{PerRecipient: perRecipient, Audit: e.audit, Now: e.clock.Now})
	return e
}

func (e *env) add(t *testing.T, msgs ...mail.Message) {
	t.Helper()
	if err := e.unit.InTx(context.Background(), func(st mail.Stores) error { return e.queue.Add(context.Background(), st, msgs...) }); err != nil {
		t.Fatal(err)
	}
}

func (e *env) sender(m mail.Mailer) *mail.Sender {
	return mail.NewSender(mail.SenderConfig{Store: e.st.Outbox, Mailer: m, Now: e.clock.Now, Backoff: time.Minute, MaxAttempts: 3})
}

func msg(to string) mail.Message { return mail.Message{To: to, Subject: "Hello", Body: "link"} }

func TestSenderRetriesWithBackoffThenGivesUp(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, 100)
		r := &recorder{fail: map[string]bool{"bad@example.com": true}}
		s := e.sender(r)
		e.add(t, msg("good@example.com"), msg("bad@example.com"))

		if n, err := s.DrainOnce(ctx); err != nil || n != 2 {
			t.Fatalf("DrainOnce = %d, %v", n, err)
		}
		if r.count("good@example.com") != 1 {
			t.Fatal("the good message was not sent")
		}
		// The failed one waits for its backoff (1 min ± 20%: 48 to 72 s),
		// then tries again.
		if n, _ := s.DrainOnce(ctx); n != 0 {
			t.Fatalf("retried before its backoff: %d", n)
		}
		e.clock.Advance(47 * time.Second)
		if n, _ := s.DrainOnce(ctx); n != 0 {
			t.Fatalf("retried before its backoff: %d", n)
		}
		e.clock.Advance(26 * time.Second)
		if n, _ := s.DrainOnce(ctx); n != 1 {
			t.Fatalf("second attempt: %d settled", n)
		}
		// The second backoff doubles: 2 min ± 20% (96 to 144 s).
		e.clock.Advance(90 * time.Second)
		if n, _ := s.DrainOnce(ctx); n != 0 {
			t.Fatalf("retried before its doubled backoff: %d", n)
		}
		e.clock.Advance(60 * time.Second)
		if n, _ := s.DrainOnce(ctx); n != 1 {
			t.Fatalf("third attempt: %d settled", n)
		}
		// Three attempts were the most: given up, never tried again.
		e.clock.Advance(24 * time.Hour)
		if n, _ := s.DrainOnce(ctx); n != 0 {
			t.Fatalf("tried after giving up: %d", n)
		}
		if p, _ := e.st.Outbox.Pending(ctx); p != 0 {
			t.Fatalf("%d pending", p)
		}
		// A sent message was sent once.
		if r.count("good@example.com") != 1 {
			t.Fatalf("good message sent %d times", r.count("good@example.com"))
		}
	})
}

// Several senders (instances) draining one database send every message
// exactly once.
func TestConcurrentSendersSendEachMessageOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		e := newEnv(t, db, 100)
		for i := range 60 {
			e.add(t, msg(fmt.Sprintf("user%d@example.com", i)))
		}
		r := &recorder{}
		var wg sync.WaitGroup
		for range 4 {
			s := e.sender(r)
			wg.Go(func() {
				if _, err := s.DrainOnce(context.Background()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if r.count("") != 60 {
			t.Fatalf("%d sends, want 60", r.count(""))
		}
		seen := map[string]bool{}
		for _, m := range r.sent {
			if seen[m.To] {
				t.Fatalf("%s sent twice", m.To)
			}
			seen[m.To] = true
		}
	})
}

// A claim is a lease: nobody else takes the message while it lasts, anyone
// may once it has run out, and the first claimer can then no longer settle it.
func TestClaimLease(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, 100)
		e.add(t, msg("a@example.com"))
		now := e.clock.Now()
		got, err := e.st.Outbox.Claim(ctx, now, now.Add(time.Minute), "first", 10)
		if err != nil || len(got) != 1 || got[0].To != "a@example.com" || got[0].Attempts != 1 {
			t.Fatalf("Claim = %+v, %v", got, err)
		}
		if again, _ := e.st.Outbox.Claim(ctx, now.Add(30*time.Second), now.Add(2*time.Minute), "second", 10); len(again) != 0 {
			t.Fatalf("claimed twice within the lease: %+v", again)
		}
		later := now.Add(2 * time.Minute)
		taken, _ := e.st.Outbox.Claim(ctx, later, later.Add(time.Minute), "second", 10)
		if len(taken) != 1 || taken[0].Attempts != 2 {
			t.Fatalf("after the lease: %+v", taken)
		}
		if ok, err := e.st.Outbox.MarkSent(ctx, got[0].ID, "first", "a***@example.com", later); err != nil || ok {
			t.Fatalf("the expired claim settled the message: %v, %v", ok, err)
		}
		if ok, err := e.st.Outbox.MarkSent(ctx, got[0].ID, "second", "a***@example.com", later); err != nil || !ok {
			t.Fatalf("the current claim could not settle it: %v, %v", ok, err)
		}
	})
}

func TestPerRecipientLimit(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, 3)
		for range 5 {
			e.add(t, msg("alice@example.com"))
			e.clock.Advance(time.Minute)
		}
		e.add(t, msg("bob@example.com"))
		// Stand-ins count like messages but are never sent.
		if err := e.unit.InTx(ctx, func(st mail.Stores) error {
			return e.queue.AddStandIn(ctx, st, "carol@example.com", "Hello")
		}); err != nil {
			t.Fatal(err)
		}
		r := &recorder{}
		if _, err := e.sender(r).DrainOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if r.count("alice@example.com") != 3 || r.count("bob@example.com") != 1 || r.count("carol@example.com") != 0 {
			t.Fatalf("sent %+v", r.sent)
		}
		evs, _, err := e.audit.List(ctx, audit.Filter{Action: mail.ActionDropped, Limit: 10})
		if err != nil || len(evs) != 2 {
			t.Fatalf("audit = %+v, %v", evs, err)
		}
		if evs[0].Details != `{"reason":"recipient_limit","subject":"Hello","to":"a***@example.com"}` {
			t.Errorf("details = %s", evs[0].Details)
		}
		// An hour after the first, the window has room again.
		e.clock.Advance(56 * time.Minute)
		e.add(t, msg("alice@example.com"))
		if _, err := e.sender(r).DrainOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if r.count("alice@example.com") != 4 {
			t.Fatalf("after the window: %d sent", r.count("alice@example.com"))
		}
	})
}

// Concurrent requests for one address never pass the limit together.
func TestPerRecipientLimitUnderConcurrency(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, 5)
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if err := e.unit.InTx(ctx, func(st mail.Stores) error { return e.queue.Add(ctx, st, msg("alice@example.com")) }); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n, _ := e.st.Outbox.Pending(ctx); n != 5 {
			t.Fatalf("%d queued, want 5", n)
		}
	})
}

// A failed transaction queues nothing: mail goes with its change or not at all.
func TestRolledBackMailIsNeverSent(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, 100)
		boom := errors.New("boom")
		err := e.unit.InTx(ctx, func(st mail.Stores) error {
			if err := e.queue.Add(ctx, st, msg("a@example.com")); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		r := &recorder{}
		if n, _ := e.sender(r).DrainOnce(ctx); n != 0 || r.count("") != 0 {
			t.Fatalf("rolled-back mail sent: %d", n)
		}
	})
}

// Run stops when its context ends, and a Wake makes it send at once.
func TestRunSendsOnWakeAndStops(t *testing.T) {
	db := testdb.Open(t, "sqlite")
	e := newEnv(t, db, 100)
	r := &recorder{}
	s := mail.NewSender(mail.SenderConfig{Store: e.st.Outbox, Mailer: r, Now: e.clock.Now, Poll: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	e.add(t, msg("a@example.com"))
	s.Wake()
	deadline := time.Now().Add(5 * time.Second)
	for r.count("") == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if r.count("") != 1 {
		t.Fatal("a woken sender did not send")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}

package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"secureapi/internal/audit"
	"secureapi/internal/auth"
	"secureapi/internal/mail"
	"secureapi/internal/platform/apperr"
	"secureapi/internal/platform/password"
	"secureapi/internal/platform/reqinfo"
	"secureapi/internal/platform/token"
	"secureapi/internal/store"
	"secureapi/internal/store/sqlstore"

	"secureapi/internal/testutil/logbuf"
)

var fastParams = password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

const goodPassword = "Correct-Horse-9"

// clock is a settable time source shared by the service and the token issuer.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type syncBuffer = logbuf.Buffer

type env struct {
	db     store.DB
	st     store.Stores
	svc    *auth.Service
	audit  *audit.Service
	clock  *clock
	issuer *token.Issuer
	hasher *password.Hasher
	outbox string
	sender *mail.Sender
	logs   *syncBuffer
}

type option func(*auth.Deps)

func newEnv(t *testing.T, db store.DB, opts ...option) *env {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := token.NewKeyRing(priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, st: store.New(db), clock: &clock{t: time.Now().UTC()}, outbox: filepath.Join(t.TempDir(), "outbox"), logs: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.issuer = token.NewIssuer(token.Config{Issuer: "test", Audience: "test", TTL: 15 * time.Minute}, ring, e.clock.Now)
	e.audit = audit.NewService(e.st.Audit, log, e.clock.Now)
	e.hasher = password.NewHasher(fastParams, password.Limits{Concurrency: 4, QueueDepth: 8, QueueTimeout: 5 * time.Second})
	e.sender = mail.NewSender(mail.SenderConfig{Store: e.st.Outbox, Mailer: mail.NewOutboxMailer(e.outbox, log), Now: e.clock.Now, Log: log})
	d := auth.Deps{
		Users: e.st.Users, Sessions: e.st.Sessions, Audit: e.audit, Hasher: e.hasher,
		Tx:     store.Unit(db, func(tx *sqlstore.Tx) auth.Stores { return tx }),
		Mail:   mail.NewQueue(mail.QueueConfig{PerRecipient: 100, Audit: e.audit, Log: log, Now: e.clock.Now}),
		Policy: password.Policy{MinLength: 8, MaxLength: 128, RequireUpper: true, RequireDigit: true},
		Tokens: e.issuer,
		Config: auth.Config{
			RefreshTTL: 24 * time.Hour, ReuseGrace: 10 * time.Second, MaxFailures: 5,
			FailureWindow: 15 * time.Minute, Lockout: 15 * time.Minute, ResetTTL: 30 * time.Minute,
			PublicBaseURL: "https://app.example.com/",
		},
		Now: e.clock.Now, Log: log,
	}
	for _, o := range opts {
		o(&d)
	}
	e.hasher = d.Hasher
	e.svc = auth.NewService(d)
	return e
}

// ctx is a request context with client facts, as the HTTP layer provides it.
func ctx() context.Context {
	return reqinfo.With(context.Background(), reqinfo.Info{IP: "203.0.113.7", UserAgent: "test-agent/1.0", RequestID: "req-1"})
}

func (e *env) register(t *testing.T, email, username string) string {
	t.Helper()
	u, err := e.svc.Register(ctx(), email, username, goodPassword, nil)
	if err != nil {
		t.Fatalf("Register(%s): %v", email, err)
	}
	// The verification mail is not what these tests look for: the outbox
	// starts empty after each registration.
	e.drain(t)
	if err := os.RemoveAll(e.outbox); err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func (e *env) login(t *testing.T, email string) auth.Tokens {
	t.Helper()
	toks, err := e.svc.Login(ctx(), email, goodPassword)
	if err != nil {
		t.Fatalf("Login(%s): %v", email, err)
	}
	return toks
}

func (e *env) events(t *testing.T, action string) []audit.Event {
	t.Helper()
	evs, _, err := e.audit.List(context.Background(), audit.Filter{Action: action, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// principal authenticates an access token and fails the test if it is refused.
func (e *env) principal(t *testing.T, access string) auth.Principal {
	t.Helper()
	p, err := e.svc.Authenticate(ctx(), access)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return p
}

// drain sends every queued message into the outbox folder.
func (e *env) drain(t *testing.T) {
	t.Helper()
	if _, err := e.sender.DrainOnce(context.Background()); err != nil {
		t.Fatalf("drain the mail outbox: %v", err)
	}
}

// outboxLink returns the token of the newest reset link in the outbox.
func (e *env) outboxToken(t *testing.T) string {
	t.Helper()
	e.drain(t)
	entries, err := os.ReadDir(e.outbox)
	if err != nil || len(entries) == 0 {
		t.Fatalf("outbox is empty: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(e.outbox, entries[len(entries)-1].Name()))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`https://app\.example\.com/reset-password#token=([A-Za-z0-9_-]+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no reset link in %q", b)
	}
	return string(m[1])
}

func wantKind(t *testing.T, err error, kind apperr.Kind) *apperr.Error {
	t.Helper()
	ae, ok := apperr.As(err)
	if !ok || ae.Kind != kind {
		t.Fatalf("err = %v (%#v), want apperr kind %d", err, err, kind)
	}
	return ae
}

func wantIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// throttleKeyFor mirrors the service's key for a normalized email.
func throttleKeyFor(email string) string { return hashOf(email) }

// countCurrent counts the session's refresh tokens that are not replaced.
// The store can only return one, so the test asks the database directly.
func countCurrent(t *testing.T, e *env, sessionID string) int {
	t.Helper()
	var n int
	// sessionID is a UUID the service generated, so inlining it is safe.
	q := "SELECT COUNT(*) FROM refresh_tokens WHERE replaced_at IS NULL AND session_id = '" + sessionID + "'"
	if err := e.db.SQL().QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// readOutbox sends what is queued and lists the outbox folder; it fails
// when the folder is missing or empty.
func (e *env) readOutbox(t *testing.T) ([]os.DirEntry, error) {
	t.Helper()
	e.drain(t)
	entries, err := os.ReadDir(e.outbox)
	if err == nil && len(entries) == 0 {
		err = os.ErrNotExist
	}
	return entries, err
}

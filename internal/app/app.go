// Package app assembles the service from its configuration: database,
// migrations, keys, services and the HTTP router. The binary and the tests
// build it the same way.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"secureapi/internal/api"
	"secureapi/internal/audit"
	"secureapi/internal/auth"
	"secureapi/internal/file"
	"secureapi/internal/mail"
	"secureapi/internal/pat"
	"secureapi/internal/platform/config"
	"secureapi/internal/platform/fieldcrypt"
	"secureapi/internal/platform/metrics"
	"secureapi/internal/platform/password"
	"secureapi/internal/platform/ratelimit"
	"secureapi/internal/platform/token"
	"secureapi/internal/store"
	"secureapi/internal/store/postgres"
	"secureapi/internal/store/sqlite"
	"secureapi/internal/store/sqlstore"
	"secureapi/internal/user"
)

// App is the assembled service.
type App struct {
	Config *config.Config
	Log    *slog.Logger
	DB     store.DB
	Stores store.Stores
	Keys   *token.KeyRing
	Tokens *token.Issuer
	Hasher *password.Hasher
	Audit  *audit.Service
	Auth   *auth.Service
	Users  *user.Service
	Files  *file.Service
	// Mail drains the outbox in the background (unless Options.NoMailSender);
	// tests call its DrainOnce to send what is due at once.
	Mail    *mail.Sender
	Metrics *metrics.Metrics
	Limiter ratelimit.Limiter
	// Secrets seals values that must be recoverable (e.g. MFA seeds) with the
	// FIELD_ENCRYPTION_KEYS ring (in development, a generated key under
	// DATA_DIR); nil in production when no keys are configured.
	Secrets *fieldcrypt.Ring
	// PATs are personal access tokens.
	PATs *pat.Service
	// View caches live sessions, kept current by the session change feed.
	View    *auth.View
	Handler http.Handler

	closers  []func() error
	stopMail func()
}

// Options adjust assembly (tests pin the clock).
type Options struct {
	Now func() time.Time
	// NoMailSender leaves the outbox alone: for commands that run for a
	// moment and must not send what the server queued. They do not read the
	// session change feed either, so they check sessions in the database.
	NoMailSender bool
	// Feed, when set, wraps the session change feed (tests cut it).
	Feed func(auth.Feed) auth.Feed
}

// New opens the database (migrating it when AUTO_MIGRATE is on), loads the
// signing keys and builds every service and the router.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, opts Options) (a *App, err error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	a = &App{Config: cfg, Log: log}

	a.DB, err = store.Open(ctx, cfg.DatabaseDriver(), cfg.DatabaseDSN())
	if err != nil {
		return nil, err
	}
	// Every failure below returns a nil *App, so the deferred close holds
	// the database itself.
	db := a.DB
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	if cfg.AutoMigrate {
		if err := store.MigrateUp(ctx, a.DB); err != nil {
			return nil, fmt.Errorf("apply migrations: %w", err)
		}
	}
	a.Stores = store.New(a.DB)

	signing := cfg.SigningKey
	if signing == nil {
		if cfg.IsProduction() {
			return nil, errors.New("JWT_SIGNING_KEY is required in production")
		}
		// Development keeps one generated key so tokens survive restarts.
		signing, err = token.LoadOrCreateDevKey(filepath.Join(cfg.DataDir, "jwt-signing.key"))
		if err != nil {
			return nil, fmt.Errorf("development signing key: %w", err)
		}
	}
	a.Keys, err = token.NewKeyRing(signing, cfg.JWTVerificationKeys)
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	a.Metrics = metrics.New()
	a.Tokens = token.NewIssuer(token.Config{Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience, TTL: cfg.AccessTokenTTL}, a.Keys, now)
	a.Hasher = password.NewHasher(password.Params{
		MemoryKiB: cfg.Argon2MemoryKiB, Iterations: cfg.Argon2Iterations, Parallelism: cfg.Argon2Parallelism,
	}, password.Limits{Concurrency: cfg.HashConcurrency, QueueDepth: cfg.HashQueueDepth, QueueTimeout: cfg.HashQueueTimeout})
	a.Audit = audit.NewService(a.Stores.Audit, log, now)
	if a.Secrets, err = fieldRing(cfg); err != nil {
		return nil, err
	}
	a.PATs = pat.NewService(pat.Deps{Store: a.Stores.AccessTokens, Audit: a.Audit, Now: now, Log: log})

	policy := password.Policy{
		MinLength: cfg.PasswordMinLength, MaxLength: cfg.PasswordMaxLength,
		RequireUpper: cfg.PasswordRequireUpper, RequireDigit: cfg.PasswordRequireDigit,
	}
	var mailer mail.Mailer = mail.NewOutboxMailer(filepath.Join(cfg.DataDir, "outbox"), log)
	if cfg.SMTPHost != "" {
		mailer = mail.NewSMTPMailer(cfg.SMTPHost, cfg.SMTPPort, cfg.SMTPUsername, cfg.SMTPPassword, cfg.MailFrom)
	}
	queue := mail.NewQueue(mail.QueueConfig{
		PerRecipient: cfg.MailPerRecipientPerHour, Audit: a.Audit, Log: log, Now: now, Observe: a.Metrics.Mail,
	})
	a.Mail = mail.NewSender(mail.SenderConfig{
		Store: a.Stores.Outbox, Mailer: mailer, Now: now, Log: log, Observe: a.Metrics.Mail,
	})
	// A committed message goes out at once, not at the next poll.
	queue.WakeWith(a.Mail.Wake)
	var feed auth.Feed = a.DB
	if opts.Feed != nil {
		feed = opts.Feed(feed)
	}
	a.View = auth.NewView(feed, log)
	a.Auth = auth.NewService(auth.Deps{
		Users: a.Stores.Users, Sessions: a.Stores.Sessions, Audit: a.Audit, Hasher: a.Hasher, Policy: policy,
		Tx:     store.Unit(a.DB, func(tx *sqlstore.Tx) auth.Stores { return tx }),
		Mail:   queue,
		Tokens: a.Tokens, Now: now, Log: log,
		Config: auth.Config{
			RefreshTTL: cfg.RefreshTokenTTL, ReuseGrace: cfg.RefreshReuseGrace, MaxFailures: cfg.LoginMaxFailures,
			FailureWindow: cfg.LoginFailureWindow, Lockout: cfg.LoginLockout, ResetTTL: cfg.PasswordResetTTL,
			EmailChangeTTL: cfg.EmailChangeTTL, VerifyTTL: cfg.EmailVerifyTTL,
			RequireVerifiedEmail: cfg.RequireVerifiedEmail, PublicBaseURL: cfg.PublicBaseURL, MFAIssuer: cfg.MFAIssuer,
		},
		MFA: a.Stores.MFA, Secrets: a.Secrets, View: a.View,
	})
	if a.Secrets == nil {
		// Seeds already stored cannot be opened without the ring: logins of
		// those accounts would fail, so refuse to start and say why.
		n, err := a.Auth.MFAInUse(ctx)
		if err != nil {
			return nil, fmt.Errorf("count accounts with a second factor: %w", err)
		}
		if n > 0 {
			return nil, fmt.Errorf("FIELD_ENCRYPTION_KEYS is required: %d account(s) use two-factor login and their TOTP seeds are encrypted with that key ring; set it to the keys they were sealed with", n)
		}
	}
	a.Files, err = file.NewService(file.Deps{
		Store: a.Stores.Files, Tx: store.Unit(a.DB, func(tx *sqlstore.Tx) file.Stores { return tx }),
		Audit: a.Audit, Dir: cfg.UploadDir, MaxBytes: cfg.MaxUploadBytes,
		Quota: cfg.UploadQuotaBytes, Allowed: cfg.UploadAllowedTypes, Now: now, Log: log,
	})
	if err != nil {
		return nil, fmt.Errorf("uploads: %w", err)
	}
	a.Users = user.NewService(user.Deps{
		Store: a.Stores.Users, Tx: store.Unit(a.DB, func(tx *sqlstore.Tx) user.Stores { return tx }),
		Passwords: a.Auth, Files: a.Files, Audit: a.Audit, Now: now, Log: log,
	})

	a.Audit.Observe(a.Metrics.AuditEvent)
	switch db := a.DB.(type) {
	case *sqlite.DB:
		a.Metrics.SQLDB(db.W, "sqlite_writer")
		a.Metrics.SQLDB(db.R, "sqlite_readers")
	case *postgres.DB:
		a.Metrics.GaugeFunc("pgxpool_acquired_conns", "PostgreSQL connections in use.", func() float64 { return float64(db.Pool.Stat().AcquiredConns()) })
		a.Metrics.GaugeFunc("pgxpool_idle_conns", "Idle PostgreSQL connections.", func() float64 { return float64(db.Pool.Stat().IdleConns()) })
		a.Metrics.GaugeFunc("pgxpool_max_conns", "Largest PostgreSQL pool size.", func() float64 { return float64(db.Pool.Stat().MaxConns()) })
		a.Metrics.GaugeFunc("pgxpool_empty_acquire_total", "Acquires that had to wait for a connection.", func() float64 { return float64(db.Pool.Stat().EmptyAcquireCount()) })
	}
	a.Metrics.GaugeFunc("mail_outbox_pending", "Messages in the outbox not yet sent or given up.", func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := a.Stores.Outbox.Pending(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	})
	a.Metrics.GaugeFunc("password_hash_in_use", "Password hashes running now.", func() float64 { n, _ := a.Hasher.Stats(); return float64(n) })
	a.Metrics.GaugeFunc("session_view_fresh", "1 while the session change feed is current and session checks are served from memory; 0 while every request checks the database.", func() float64 {
		if a.View.Fresh() {
			return 1
		}
		return 0
	})
	a.Metrics.CounterFunc("session_view_hits_total", "Session checks served from memory.", func() float64 { h, _, _ := a.View.Stats(); return float64(h) })
	a.Metrics.CounterFunc("session_view_misses_total", "Session checks read from the database and then cached.", func() float64 { _, m, _ := a.View.Stats(); return float64(m) })
	a.Metrics.CounterFunc("session_view_fallbacks_total", "Session checks read from the database because the change feed was not current.", func() float64 { _, _, f := a.View.Stats(); return float64(f) })
	a.Metrics.GaugeFunc("password_hash_waiting", "Admitted callers waiting for a password-hashing slot.", func() float64 { _, n := a.Hasher.Stats(); return float64(n) })
	a.Metrics.CounterFunc("password_hash_refused_total", "Requests refused (429) because password hashing was saturated.", func() float64 { return float64(a.Hasher.Refused()) })

	mem := ratelimit.NewMemory()
	a.closers = append(a.closers, func() error { mem.Close(); return nil })
	a.Limiter = mem
	if cfg.RedisURL != "" {
		rc, err := redisClient(cfg.RedisURL, log)
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, rc.Close)
		// Shared limits across instances; when Redis is unreachable each
		// instance keeps limiting on its own (auth limits included) rather
		// than failing open or refusing service.
		a.Limiter = ratelimit.NewFallback(ratelimit.NewRedis(rc), mem, log)
	}

	e, err := api.NewRouter(api.Deps{
		Config:  cfg,
		Log:     log,
		Ready:   a.Ready,
		Keys:    a.Keys,
		Auth:    a.Auth,
		Users:   a.Users,
		Files:   a.Files,
		Audit:   a.Audit,
		PATs:    a.PATs,
		Metrics: a.Metrics,
		Limiter: a.Limiter,
		View:    a.View,
	})
	if err != nil {
		return nil, err
	}
	a.Handler = e

	if !opts.NoMailSender {
		// The sender outlives ctx's cancellation (a signal): mail queued by
		// requests still draining goes out, until Close stops it.
		sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() {
			defer close(done)
			a.Mail.Run(sctx)
		}()
		viewDone := make(chan struct{})
		go func() {
			defer close(viewDone)
			a.View.Run(sctx)
		}()
		a.stopMail = func() { cancel(); <-done; <-viewDone }
	}
	return a, nil
}

// DevFieldKeyFile is the development field-encryption key under DATA_DIR.
const DevFieldKeyFile = "field-encryption.key"

// fieldRing builds the field-encryption key ring: FIELD_ENCRYPTION_KEYS when
// set; in development otherwise a key generated once and kept under DATA_DIR
// (like the development signing key); in production otherwise none. A
// development key already on disk stays in the ring behind configured keys,
// so values it sealed still open and move to the configured key as used.
func fieldRing(cfg *config.Config) (*fieldcrypt.Ring, error) {
	keys := make([]fieldcrypt.Key, len(cfg.FieldEncryptionKeys))
	for i, k := range cfg.FieldEncryptionKeys {
		keys[i] = fieldcrypt.Key(k)
	}
	if !cfg.IsProduction() {
		path := filepath.Join(cfg.DataDir, DevFieldKeyFile)
		_, statErr := os.Stat(path)
		if len(keys) == 0 || statErr == nil {
			k, err := fieldcrypt.LoadOrCreateDevKey(path)
			if err != nil {
				return nil, fmt.Errorf("development field-encryption key: %w", err)
			}
			if !slices.ContainsFunc(keys, func(c fieldcrypt.Key) bool { return c.ID == k.ID }) {
				keys = append(keys, k)
			}
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	ring, err := fieldcrypt.NewRing(keys)
	if err != nil {
		return nil, fmt.Errorf("FIELD_ENCRYPTION_KEYS: %w", err)
	}
	return ring, nil
}

// ReloadKeys re-reads JWT_SIGNING_KEY_FILE and JWT_VERIFICATION_KEYS_FILE
// and swaps the key ring atomically: new tokens are signed with the new key,
// and tokens of every key still listed keep verifying. A failed read keeps
// the ring as it was.
func (a *App) ReloadKeys() error {
	signing, verify, err := a.Config.KeyFiles()
	if err != nil {
		return err
	}
	if signing == nil {
		return errors.New("no signing key configured to reload")
	}
	return a.Keys.Replace(signing, verify)
}

// Ready reports whether the database answers and its migrations are at head.
func (a *App) Ready(ctx context.Context) error {
	if err := a.DB.Ping(ctx); err != nil {
		return fmt.Errorf("database ping: %w", err)
	}
	at, err := store.AtHead(ctx, a.DB)
	if err != nil {
		return fmt.Errorf("migration status: %w", err)
	}
	if !at {
		return errors.New("migrations are pending")
	}
	return nil
}

// Close stops the mail sender (after the message it is sending, if any) and
// releases the database and other connections.
func (a *App) Close() error {
	if a.stopMail != nil {
		a.stopMail()
		a.stopMail = nil
	}
	errs := []error{a.DB.Close()}
	for _, c := range a.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// redisClient fails fast when Redis is down, so the fallback limiter takes
// over within a request instead of after go-redis's default retries.
func redisClient(url string, log *slog.Logger) (*redis.Client, error) {
	// go-redis has one process-wide logger; set it once.
	redisLogOnce.Do(func() { redis.SetLogger(redisLogger{log}) })
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, errors.New("REDIS_URL is not a valid Redis URL")
	}
	opt.DialerRetries = 1
	opt.DialTimeout = 200 * time.Millisecond
	opt.ReadTimeout = 200 * time.Millisecond
	opt.WriteTimeout = 200 * time.Millisecond
	opt.MaxRetries = -1
	return redis.NewClient(opt), nil
}

var redisLogOnce sync.Once

// redisLogger sends go-redis's own messages (dial failures while the
// fallback limiter covers for Redis) to the service log at debug level.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

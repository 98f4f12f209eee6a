package config

import (
	"cmp"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/joho/godotenv"
)

// Environment names accepted in APP_ENV.
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
)

// Database drivers returned by DatabaseDriver.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// OWASP password storage guidance for Argon2id (m=19 MiB, t=2, p=1); lower
// settings make offline cracking of a leaked hash table cheaper.
const (
	MinArgon2MemoryKiB    = 19456
	MinArgon2Iterations   = 2
	MinPasswordLengthProd = 8
)

// EncryptionKey is one AES-256 key of the field encryption key ring. The ID is
// stored next to each ciphertext so data written under an older key can still
// be decrypted after rotation.
type EncryptionKey struct {
	ID  string
	Key []byte
}

// String hides the key material so that printing a key ring by accident
// cannot leak it.
func (k EncryptionKey) String() string { return k.ID + ":***" }

// GoString hides the key material from %#v as well.
func (k EncryptionKey) GoString() string {
	return "config.EncryptionKey{ID: " + strconv.Quote(k.ID) + ", Key: ***}"
}

// Config is the validated configuration of the service. Fields with an env tag
// are read from the variable of that name; the others are derived from them
// by Load.
type Config struct {
	// dotenvLookAlikes are .env entries that look like settings but are not
	// (see LookAlikes); Check reports them as warnings.
	dotenvLookAlikes []Problem

	AppEnv string `env:"APP_ENV" envDefault:"development"`
	// ListenAddr defaults to 127.0.0.1:8080 in development (nothing on the
	// network reaches a laptop's dev server) and :8080 in production.
	ListenAddr string `env:"LISTEN_ADDR"`
	DataDir    string `env:"DATA_DIR" envDefault:"./data"`

	DatabaseURL              string `env:"DATABASE_URL"`
	AllowSQLiteInProduction  bool   `env:"ALLOW_SQLITE_IN_PRODUCTION" envDefault:"false"`
	DatabaseAllowInsecureTLS bool   `env:"DATABASE_ALLOW_INSECURE_TLS" envDefault:"false"`
	// AutoMigrate defaults to true in development and false in production.
	AutoMigrate bool   `env:"AUTO_MIGRATE"`
	RedisURL    string `env:"REDIS_URL"`

	CORSAllowedOrigins []string       `env:"CORS_ALLOWED_ORIGINS"`
	AllowedHosts       []string       `env:"ALLOWED_HOSTS"`
	TrustedProxies     []netip.Prefix `env:"TRUSTED_PROXIES"`
	TLSCertFile        string         `env:"TLS_CERT_FILE"`
	TLSKeyFile         string         `env:"TLS_KEY_FILE"`
	HTTPRedirectAddr   string         `env:"HTTP_REDIRECT_ADDR"`
	// MetricsAddr is empty, and the metrics listener off, unless METRICS_ADDR is set.
	MetricsAddr string `env:"METRICS_ADDR"`

	LogLevel string `env:"LOG_LEVEL" envDefault:"info"`
	// LogFormat defaults to text in development and json in production.
	LogFormat string `env:"LOG_FORMAT"`
	Debug     bool   `env:"DEBUG" envDefault:"false"`

	// UploadDir defaults to DATA_DIR/uploads.
	UploadDir          string   `env:"UPLOAD_DIR"`
	MaxUploadBytes     int64    `env:"MAX_UPLOAD_BYTES" envDefault:"10485760"`
	UploadQuotaBytes   int64    `env:"UPLOAD_QUOTA_BYTES" envDefault:"104857600"`
	UploadAllowedTypes []string `env:"UPLOAD_ALLOWED_TYPES" envDefault:"image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain"`
	// DownloadCacheControl is the Cache-Control of file downloads.
	DownloadCacheControl string `env:"DOWNLOAD_CACHE_CONTROL" envDefault:"private, no-store"`
	MaxBodyBytes         int64  `env:"MAX_BODY_BYTES" envDefault:"1048576"`

	JWTIssuer       string        `env:"JWT_ISSUER" envDefault:"secureapi"`
	JWTAudience     string        `env:"JWT_AUDIENCE" envDefault:"secureapi"`
	AccessTokenTTL  time.Duration `env:"ACCESS_TOKEN_TTL" envDefault:"15m"`
	RefreshTokenTTL time.Duration `env:"REFRESH_TOKEN_TTL" envDefault:"720h"`
	// JWTSigningKey is the configured text form of SigningKey; empty in
	// development means a key is generated and kept under DATA_DIR.
	JWTSigningKey string `env:"JWT_SIGNING_KEY"`
	// SigningKey is derived from JWTSigningKey; nil when it is empty.
	SigningKey ed25519.PrivateKey `env:"-"`
	// JWTVerificationKeys are previous public keys whose tokens are still
	// accepted while they expire after a key rotation.
	JWTVerificationKeys []ed25519.PublicKey `env:"JWT_VERIFICATION_KEYS"`
	// JWTSigningKeyFile and JWTVerificationKeysFile hold the same values in
	// files (e.g. mounted secrets); they are read again on SIGHUP, so keys
	// rotate without a restart. Each excludes its variable.
	JWTSigningKeyFile       string `env:"JWT_SIGNING_KEY_FILE"`
	JWTVerificationKeysFile string `env:"JWT_VERIFICATION_KEYS_FILE"`
	// FieldEncryptionKeys is the AES-256-GCM key ring; the first key encrypts,
	// all of them decrypt.
	FieldEncryptionKeys []EncryptionKey `env:"FIELD_ENCRYPTION_KEYS"`
	// MFAIssuer names the service in users' authenticator apps.
	MFAIssuer string `env:"MFA_ISSUER" envDefault:"Secure API"`

	Argon2MemoryKiB   uint32 `env:"ARGON2_MEMORY_KIB" envDefault:"19456"`
	Argon2Iterations  uint32 `env:"ARGON2_ITERATIONS" envDefault:"2"`
	Argon2Parallelism uint8  `env:"ARGON2_PARALLELISM" envDefault:"1"`
	// HashConcurrency is resolved to runtime.GOMAXPROCS(0) when set to 0.
	HashConcurrency int `env:"HASH_CONCURRENCY" envDefault:"0"`
	// HashQueueDepth is how many callers may wait for a hashing slot; more
	// are refused at once (429). Resolved to 2*HashConcurrency when 0, so the
	// last in the queue waits about two hash times.
	HashQueueDepth int `env:"HASH_QUEUE_DEPTH" envDefault:"0"`
	// HashQueueTimeout caps an admitted caller's wait for a slot: a backstop
	// for hashes slowed down by an overloaded machine, not the normal wait.
	HashQueueTimeout time.Duration `env:"HASH_QUEUE_TIMEOUT" envDefault:"2s"`

	PasswordMinLength    int  `env:"PASSWORD_MIN_LENGTH" envDefault:"8"`
	PasswordMaxLength    int  `env:"PASSWORD_MAX_LENGTH" envDefault:"128"`
	PasswordRequireUpper bool `env:"PASSWORD_REQUIRE_UPPER" envDefault:"true"`
	PasswordRequireDigit bool `env:"PASSWORD_REQUIRE_DIGIT" envDefault:"true"`

	CookieSecure      bool          `env:"COOKIE_SECURE" envDefault:"true"`
	RefreshReuseGrace time.Duration `env:"REFRESH_REUSE_GRACE" envDefault:"10s"`

	LoginMaxFailures   int           `env:"LOGIN_MAX_FAILURES" envDefault:"5"`
	LoginFailureWindow time.Duration `env:"LOGIN_FAILURE_WINDOW" envDefault:"15m"`
	LoginLockout       time.Duration `env:"LOGIN_LOCKOUT" envDefault:"15m"`

	PasswordResetTTL time.Duration `env:"PASSWORD_RESET_TTL" envDefault:"30m"`
	// EmailChangeTTL is how long the link confirming a new address works.
	EmailChangeTTL time.Duration `env:"EMAIL_CHANGE_TTL" envDefault:"1h"`
	// EmailVerifyTTL is how long an address verification link works.
	EmailVerifyTTL time.Duration `env:"EMAIL_VERIFY_TTL" envDefault:"24h"`
	// RequireVerifiedEmail defaults to true in production and false in
	// development: when on, an unverified account cannot log in and
	// registration answers alike for new and taken addresses.
	RequireVerifiedEmail bool `env:"REQUIRE_VERIFIED_EMAIL"`
	// PublicBaseURL never ends with a slash so paths can be appended.
	PublicBaseURL string `env:"PUBLIC_BASE_URL" envDefault:"http://localhost:8080"`

	MailFrom     string `env:"MAIL_FROM" envDefault:"no-reply@localhost"`
	SMTPHost     string `env:"SMTP_HOST"`
	SMTPPort     int    `env:"SMTP_PORT" envDefault:"587"`
	SMTPUsername string `env:"SMTP_USERNAME"`
	SMTPPassword string `env:"SMTP_PASSWORD"`
	// MailPerRecipientPerHour caps the messages queued for one address in
	// any hour; more are dropped (audited) while requests answer as usual.
	MailPerRecipientPerHour int `env:"MAIL_PER_RECIPIENT_PER_HOUR" envDefault:"5"`

	RateLimitIPPerMinute   int `env:"RATE_LIMIT_IP_PER_MINUTE" envDefault:"300"`
	RateLimitUserPerMinute int `env:"RATE_LIMIT_USER_PER_MINUTE" envDefault:"600"`
	// RateLimitAuthPerMinute defaults to 10 in production and 60 in
	// development, where one person tries flows again and again.
	RateLimitAuthPerMinute int `env:"RATE_LIMIT_AUTH_PER_MINUTE" envDefault:"10"`
	// RateLimitBurst of 0 means each limiter bursts up to its per-minute
	// value; use RateBurst to resolve it.
	RateLimitBurst int `env:"RATE_LIMIT_BURST" envDefault:"0"`

	ShutdownTimeout   time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"15s"`
	ReadHeaderTimeout time.Duration `env:"READ_HEADER_TIMEOUT" envDefault:"5s"`
	ReadTimeout       time.Duration `env:"READ_TIMEOUT" envDefault:"30s"`
	WriteTimeout      time.Duration `env:"WRITE_TIMEOUT" envDefault:"60s"`
	IdleTimeout       time.Duration `env:"IDLE_TIMEOUT" envDefault:"120s"`
}

// field describes one env-tagged field of Config.
type field struct {
	index int
	name  string // Go field name, as reported by the env library
	key   string // environment variable
}

// fields lists the env-tagged fields in declaration order, which is also the
// order Masked prints them in.
var fields = func() []field {
	t := reflect.TypeFor[Config]()
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		key, _, _ := strings.Cut(sf.Tag.Get("env"), ",")
		if key == "" || key == "-" {
			continue
		}
		out = append(out, field{index: i, name: sf.Name, key: key})
	}
	return out
}()

// Vars returns the names of all variables the configuration reads, in the
// order Masked prints them.
func Vars() []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.key
	}
	return out
}

// verbatimVars keep surrounding whitespace because it may be part of a secret.
var verbatimVars = map[string]bool{"SMTP_PASSWORD": true}

// Load parses configuration from lookup (os.LookupEnv in production code; a
// map in tests).
//
// In development (APP_ENV unset or "development") values from dotenvPath (if
// the file exists; "" skips it) fill in variables that lookup does not set;
// the real environment always wins. In production the .env file is ignored,
// and APP_ENV itself is only ever taken from the real environment so that a
// stray file cannot switch the environment.
//
// Empty values count as unset and take the default.
//
// The returned error is an *Error listing every value that cannot be parsed or
// is invalid and, in production, every refusal reported by Check.
func Load(lookup func(string) (string, bool), dotenvPath string) (*Config, error) {
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	var ps problems

	appEnv, _ := lookup("APP_ENV")
	appEnv = strings.TrimSpace(appEnv)
	if appEnv == "" {
		appEnv = EnvDevelopment
	}
	envKnown := appEnv == EnvDevelopment || appEnv == EnvProduction
	if !envKnown {
		ps.add("APP_ENV", "%q is not a known environment; use development or production", appEnv)
	}

	var dotenv map[string]string
	if appEnv == EnvDevelopment && dotenvPath != "" {
		var p *Problem
		dotenv, p = readDotenv(dotenvPath)
		if p != nil {
			ps = append(ps, *p)
		}
		if v := strings.TrimSpace(dotenv["APP_ENV"]); v != "" && v != EnvDevelopment {
			ps.add("APP_ENV", "is set to %q in %s, but the environment cannot be chosen by a .env file (it is only read in development); set APP_ENV in the real environment instead", v, dotenvPath)
		}
	}

	vars := make(map[string]string, len(fields))
	for _, f := range fields {
		v, ok := lookup(f.key)
		if !ok {
			v, ok = dotenv[f.key]
		}
		if !ok {
			continue
		}
		if !verbatimVars[f.key] {
			v = strings.TrimSpace(v)
		}
		vars[f.key] = v
	}
	vars["APP_ENV"] = appEnv

	var c Config
	c.dotenvLookAlikes = LookAlikes(slices.Sorted(maps.Keys(dotenv)), dotenvPath)
	if err := env.ParseWithOptions(&c, env.Options{Environment: vars, FuncMap: parsers}); err != nil {
		ps = append(ps, parseProblems(err, vars)...)
	}
	c.AppEnv = appEnv

	c.applyDynamicDefaults(vars)
	ps = append(ps, c.validate(ps)...)

	if envKnown && c.IsProduction() {
		refusals, _ := Check(&c)
		for _, r := range refusals {
			// A refusal that rests on a variable which already failed would
			// only describe the zero value left behind, not the real input.
			if ps.has(r.Var) || slices.ContainsFunc(refusalInputs[r.Var], ps.has) {
				continue
			}
			ps = append(ps, r)
		}
	}

	if len(ps) > 0 {
		// Listing problems in variable order keeps related ones together
		// and makes the output stable across releases.
		slices.SortStableFunc(ps, func(a, b Problem) int { return cmp.Compare(varOrder(a.Var), varOrder(b.Var)) })
		return nil, &Error{Problems: ps}
	}
	return &c, nil
}

// refusalInputs lists, per refusal, the other variables it is derived from.
var refusalInputs = map[string][]string{
	"TLS_CERT_FILE":     {"TLS_KEY_FILE", "TRUSTED_PROXIES"},
	"DATABASE_URL":      {"ALLOW_SQLITE_IN_PRODUCTION", "DATABASE_ALLOW_INSECURE_TLS"},
	"ARGON2_MEMORY_KIB": {"ARGON2_ITERATIONS"},
	"ARGON2_ITERATIONS": {"ARGON2_MEMORY_KIB"},
}

// varOrder ranks a variable by its position in Config; anything else, such
// as a .env file name, sorts first.
func varOrder(name string) int {
	for i, f := range fields {
		if f.key == name {
			return i
		}
	}
	return -1
}

// readDotenv reads a .env file without touching the process environment.
// A missing file is not an error, so a checkout without .env works.
func readDotenv(path string) (map[string]string, *Problem) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &Problem{Var: path, Message: fmt.Sprintf("cannot read the .env file: %v", err)}
	}
	m, err := godotenv.UnmarshalBytes(data)
	if err != nil {
		// The parser's own message quotes the surrounding file content,
		// which may contain secrets, so it is not passed on.
		return nil, &Problem{Var: path, Message: "is not a valid .env file; write one NAME=value per line and quote values that contain spaces, # or quotes"}
	}
	return m, nil
}

// applyDynamicDefaults fills in defaults that depend on other settings and so
// cannot be expressed as envDefault tags.
func (c *Config) applyDynamicDefaults(vars map[string]string) {
	prod := c.IsProduction()
	if vars["AUTO_MIGRATE"] == "" {
		c.AutoMigrate = !prod
	}
	if vars["REQUIRE_VERIFIED_EMAIL"] == "" {
		c.RequireVerifiedEmail = prod
	}
	if vars["LOG_FORMAT"] == "" {
		c.LogFormat = "text"
		if prod {
			c.LogFormat = "json"
		}
	}
	if vars["RATE_LIMIT_AUTH_PER_MINUTE"] == "" && !prod {
		c.RateLimitAuthPerMinute = 60
	}
	if c.ListenAddr == "" {
		c.ListenAddr = "127.0.0.1:8080"
		if prod {
			c.ListenAddr = ":8080"
		}
	}
	if c.UploadDir == "" {
		c.UploadDir = filepath.Join(c.DataDir, "uploads")
	}
	if c.HashConcurrency == 0 {
		c.HashConcurrency = runtime.GOMAXPROCS(0)
	}
	if c.HashQueueDepth == 0 {
		c.HashQueueDepth = 2 * c.HashConcurrency
	}
	c.LogLevel = strings.ToLower(c.LogLevel)
	c.LogFormat = strings.ToLower(c.LogFormat)
}

// parseProblems turns the env library's errors into Problems that name the
// variable instead of the Go field and never echo secret values.
func parseProblems(err error, vars map[string]string) []Problem {
	keyOf := make(map[string]string, len(fields))
	for _, f := range fields {
		keyOf[f.name] = f.key
	}
	var errs []error
	var agg env.AggregateError
	if errors.As(err, &agg) {
		errs = agg.Errors
	} else {
		errs = []error{err}
	}
	var out []Problem
	for _, e := range errs {
		var pe env.ParseError
		if !errors.As(e, &pe) {
			out = append(out, Problem{Message: e.Error()})
			continue
		}
		key := keyOf[pe.Name]
		out = append(out, Problem{Var: key, Message: describeParseError(pe, vars[key])})
	}
	return out
}

func describeParseError(pe env.ParseError, raw string) string {
	var ve valueError
	if errors.As(pe.Err, &ve) {
		return ve.msg
	}
	if pe.Type == reflect.TypeFor[time.Duration]() {
		return fmt.Sprintf("%q is not a duration; use a number with a unit, e.g. 30s, 15m or 720h", raw)
	}
	var ne *strconv.NumError
	outOfRange := errors.As(pe.Err, &ne) && errors.Is(ne.Err, strconv.ErrRange)
	switch pe.Type.Kind() {
	case reflect.Bool:
		return fmt.Sprintf("%q is not a boolean; use true or false", raw)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if outOfRange {
			return fmt.Sprintf("%q is out of range", raw)
		}
		return fmt.Sprintf("%q is not a whole number", raw)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		limit := uint64(1)<<pe.Type.Bits() - 1
		return fmt.Sprintf("%q is not a whole number between 0 and %d", raw, limit)
	}
	return fmt.Sprintf("%q cannot be parsed: %v", raw, pe.Err)
}

// IsProduction reports whether the service runs with production safeguards.
func (c *Config) IsProduction() bool { return c.AppEnv == EnvProduction }

// DatabaseDriver returns DriverSQLite or DriverPostgres according to
// DatabaseURL, or "" when DatabaseURL is in no accepted form.
func (c *Config) DatabaseDriver() string {
	d, _ := databaseForm(c.DatabaseURL)
	return d
}

// SQLitePath returns the SQLite database file: DATA_DIR/app.db when
// DATABASE_URL is empty, otherwise the path of a sqlite: or file: URL. It is
// "" for PostgreSQL.
func (c *Config) SQLitePath() string {
	if c.DatabaseURL == "" {
		return filepath.Join(c.DataDir, "app.db")
	}
	d, path := databaseForm(c.DatabaseURL)
	if d != DriverSQLite {
		return ""
	}
	return path
}

// DatabaseDSN is what opens the database: the SQLite file path (see
// SQLitePath) or the PostgreSQL URL.
func (c *Config) DatabaseDSN() string {
	if c.DatabaseDriver() == DriverSQLite {
		return c.SQLitePath()
	}
	return c.DatabaseURL
}

// RateBurst returns how many requests a limiter allowing perMinute requests
// per minute may accept at once.
func (c *Config) RateBurst(perMinute int) int {
	if c.RateLimitBurst > 0 {
		return c.RateLimitBurst
	}
	return perMinute
}

// TLSEnabled reports whether the service terminates TLS itself.
func (c *Config) TLSEnabled() bool { return c.TLSCertFile != "" && c.TLSKeyFile != "" }

// databaseForm classifies a DATABASE_URL and, for SQLite, extracts the path.
func databaseForm(raw string) (driver, sqlitePath string) {
	lower := strings.ToLower(raw)
	switch {
	case raw == "":
		return DriverSQLite, ""
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		return DriverPostgres, ""
	case strings.HasPrefix(lower, "sqlite:"):
		return DriverSQLite, sqliteURLPath(raw[len("sqlite:"):])
	case strings.HasPrefix(lower, "file:"):
		return DriverSQLite, sqliteURLPath(raw[len("file:"):])
	}
	return "", ""
}

// sqliteURLPath accepts both the opaque form (sqlite:data/app.db) and the
// hierarchical one (sqlite:///var/lib/app.db) people copy from other tools.
func sqliteURLPath(rest string) string {
	if after, ok := strings.CutPrefix(rest, "//"); ok {
		return after
	}
	return rest
}

package config

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func lookupMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// newSeed returns a fresh signing key in the documented text form together
// with the key it must decode to.
func newSeed(t *testing.T) (string, ed25519.PrivateKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(priv.Seed()), priv
}

func randomKey(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// prodEnv is the smallest production environment that should load.
func prodEnv(t *testing.T) map[string]string {
	t.Helper()
	seed, _ := newSeed(t)
	return map[string]string{
		"APP_ENV":              "production",
		"DATABASE_URL":         "postgres://app:pw@db.internal:5432/app?sslmode=verify-full",
		"TRUSTED_PROXIES":      "10.0.0.0/8",
		"JWT_SIGNING_KEY":      seed,
		"CORS_ALLOWED_ORIGINS": "https://app.example.com",
	}
}

func with(base map[string]string, kv ...string) map[string]string {
	m := make(map[string]string, len(base)+len(kv)/2)
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func mustLoad(t *testing.T, env map[string]string, dotenv string) *Config {
	t.Helper()
	c, err := Load(lookupMap(env), dotenv)
	if err != nil {
		t.Fatalf("Load: unexpected error:\n%v", err)
	}
	if c == nil {
		t.Fatal("Load returned nil config without error")
	}
	return c
}

func loadErr(t *testing.T, env map[string]string, dotenv string) *Error {
	t.Helper()
	c, err := Load(lookupMap(env), dotenv)
	if err == nil {
		t.Fatalf("Load: expected an error, got none (config %v)", c != nil)
	}
	if c != nil {
		t.Error("Load returned a config together with an error")
	}
	var cfgErr *Error
	if !errors.As(err, &cfgErr) {
		t.Fatalf("Load error is %T, want *config.Error: %v", err, err)
	}
	if len(cfgErr.Problems) == 0 {
		t.Fatal("*Error without problems")
	}
	return cfgErr
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func problemVars(ps []Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Var
	}
	return out
}

func hasVar(ps []Problem, name string) bool {
	return slices.ContainsFunc(ps, func(p Problem) bool { return p.Var == name })
}

func TestDefaults(t *testing.T) {
	c := mustLoad(t, map[string]string{}, "")

	checks := []struct {
		name      string
		got, want any
	}{
		{"AppEnv", c.AppEnv, "development"},
		{"IsProduction", c.IsProduction(), false},
		{"ListenAddr", c.ListenAddr, "127.0.0.1:8080"},
		{"DataDir", c.DataDir, "./data"},
		{"DatabaseURL", c.DatabaseURL, ""},
		{"DatabaseDriver", c.DatabaseDriver(), "sqlite"},
		{"SQLitePath", c.SQLitePath(), filepath.Join("./data", "app.db")},
		{"AllowSQLiteInProduction", c.AllowSQLiteInProduction, false},
		{"DatabaseAllowInsecureTLS", c.DatabaseAllowInsecureTLS, false},
		{"AutoMigrate", c.AutoMigrate, true},
		{"RedisURL", c.RedisURL, ""},
		{"CORSAllowedOrigins", len(c.CORSAllowedOrigins), 0},
		{"AllowedHosts", len(c.AllowedHosts), 0},
		{"TrustedProxies", len(c.TrustedProxies), 0},
		{"TLSEnabled", c.TLSEnabled(), false},
		{"MetricsAddr", c.MetricsAddr, ""},
		{"LogLevel", c.LogLevel, "info"},
		{"LogFormat", c.LogFormat, "text"},
		{"Debug", c.Debug, false},
		{"UploadDir", c.UploadDir, filepath.Join("./data", "uploads")},
		{"MaxUploadBytes", c.MaxUploadBytes, int64(10 << 20)},
		{"UploadQuotaBytes", c.UploadQuotaBytes, int64(100 << 20)},
		{"UploadAllowedTypes", strings.Join(c.UploadAllowedTypes, ","), "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain"},
		{"MaxBodyBytes", c.MaxBodyBytes, int64(1 << 20)},
		{"JWTIssuer", c.JWTIssuer, "secureapi"},
		{"JWTAudience", c.JWTAudience, "secureapi"},
		{"AccessTokenTTL", c.AccessTokenTTL, 15 * time.Minute},
		{"RefreshTokenTTL", c.RefreshTokenTTL, 720 * time.Hour},
		{"SigningKey", len(c.SigningKey), 0},
		{"JWTVerificationKeys", len(c.JWTVerificationKeys), 0},
		{"FieldEncryptionKeys", len(c.FieldEncryptionKeys), 0},
		{"MFAIssuer", c.MFAIssuer, "Secure API"},
		{"Argon2MemoryKiB", c.Argon2MemoryKiB, uint32(19456)},
		{"Argon2Iterations", c.Argon2Iterations, uint32(2)},
		{"Argon2Parallelism", c.Argon2Parallelism, uint8(1)},
		{"HashConcurrency", c.HashConcurrency, runtime.GOMAXPROCS(0)},
		{"HashQueueDepth", c.HashQueueDepth, 2 * runtime.GOMAXPROCS(0)},
		{"HashQueueTimeout", c.HashQueueTimeout, 2 * time.Second},
		{"PasswordMinLength", c.PasswordMinLength, 8},
		{"PasswordMaxLength", c.PasswordMaxLength, 128},
		{"PasswordRequireUpper", c.PasswordRequireUpper, true},
		{"PasswordRequireDigit", c.PasswordRequireDigit, true},
		{"CookieSecure", c.CookieSecure, true},
		{"RefreshReuseGrace", c.RefreshReuseGrace, 10 * time.Second},
		{"LoginMaxFailures", c.LoginMaxFailures, 5},
		{"LoginFailureWindow", c.LoginFailureWindow, 15 * time.Minute},
		{"LoginLockout", c.LoginLockout, 15 * time.Minute},
		{"PasswordResetTTL", c.PasswordResetTTL, 30 * time.Minute},
		{"PublicBaseURL", c.PublicBaseURL, "http://localhost:8080"},
		{"MailFrom", c.MailFrom, "no-reply@localhost"},
		{"SMTPHost", c.SMTPHost, ""},
		{"SMTPPort", c.SMTPPort, 587},
		{"RateLimitIPPerMinute", c.RateLimitIPPerMinute, 300},
		{"RateLimitUserPerMinute", c.RateLimitUserPerMinute, 600},
		{"RateLimitAuthPerMinute", c.RateLimitAuthPerMinute, 60},
		{"RateLimitBurst", c.RateLimitBurst, 0},
		{"RateBurst(10)", c.RateBurst(10), 10},
		{"ShutdownTimeout", c.ShutdownTimeout, 15 * time.Second},
		{"ReadHeaderTimeout", c.ReadHeaderTimeout, 5 * time.Second},
		{"ReadTimeout", c.ReadTimeout, 30 * time.Second},
		{"WriteTimeout", c.WriteTimeout, 60 * time.Second},
		{"IdleTimeout", c.IdleTimeout, 120 * time.Second},
	}
	for _, tc := range checks {
		if tc.got != tc.want {
			t.Errorf("%s = %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}
}

func TestNilLookupMeansEmptyEnvironment(t *testing.T) {
	c, err := Load(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddr != "127.0.0.1:8080" {
		t.Errorf("ListenAddr = %q", c.ListenAddr)
	}
}

func TestEnvironmentDependentDefaults(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		autoMigrate bool
		logFormat   string
		uploadDir   string
		metrics     string
		hashConc    int
		hashQueue   int
		listen      string
	}{
		{"development", map[string]string{}, true, "text", filepath.Join("./data", "uploads"), "", runtime.GOMAXPROCS(0), 2 * runtime.GOMAXPROCS(0), "127.0.0.1:8080"},
		{"production", prodEnv(t), false, "json", filepath.Join("./data", "uploads"), "", runtime.GOMAXPROCS(0), 2 * runtime.GOMAXPROCS(0), ":8080"},
		{"explicit values", map[string]string{"AUTO_MIGRATE": "false", "LOG_FORMAT": "JSON", "DATA_DIR": "/srv/app", "METRICS_ADDR": "127.0.0.1:9100", "HASH_CONCURRENCY": "3", "LISTEN_ADDR": ":9000"},
			false, "json", filepath.Join("/srv/app", "uploads"), "127.0.0.1:9100", 3, 6, ":9000"},
		{"explicit queue depth", map[string]string{"HASH_CONCURRENCY": "3", "HASH_QUEUE_DEPTH": "1"}, true, "text", filepath.Join("./data", "uploads"), "", 3, 1, "127.0.0.1:8080"},
		{"upload dir set", map[string]string{"UPLOAD_DIR": "/mnt/uploads"}, true, "text", "/mnt/uploads", "", runtime.GOMAXPROCS(0), 2 * runtime.GOMAXPROCS(0), "127.0.0.1:8080"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustLoad(t, tc.env, "")
			if c.AutoMigrate != tc.autoMigrate {
				t.Errorf("AutoMigrate = %v, want %v", c.AutoMigrate, tc.autoMigrate)
			}
			if c.LogFormat != tc.logFormat {
				t.Errorf("LogFormat = %q, want %q", c.LogFormat, tc.logFormat)
			}
			if c.UploadDir != tc.uploadDir {
				t.Errorf("UploadDir = %q, want %q", c.UploadDir, tc.uploadDir)
			}
			if c.MetricsAddr != tc.metrics {
				t.Errorf("MetricsAddr = %q, want %q", c.MetricsAddr, tc.metrics)
			}
			if c.HashConcurrency != tc.hashConc {
				t.Errorf("HashConcurrency = %d, want %d", c.HashConcurrency, tc.hashConc)
			}
			if c.HashQueueDepth != tc.hashQueue {
				t.Errorf("HashQueueDepth = %d, want %d", c.HashQueueDepth, tc.hashQueue)
			}
			if c.ListenAddr != tc.listen {
				t.Errorf("ListenAddr = %q, want %q", c.ListenAddr, tc.listen)
			}
			if want := map[bool]int{true: 10, false: 60}[c.IsProduction()]; tc.env["RATE_LIMIT_AUTH_PER_MINUTE"] == "" && c.RateLimitAuthPerMinute != want {
				t.Errorf("RateLimitAuthPerMinute = %d, want %d", c.RateLimitAuthPerMinute, want)
			}
		})
	}
}

func TestDotenv(t *testing.T) {
	const dotenvContent = `# local overrides
LISTEN_ADDR=:9000
LOG_LEVEL=debug
SMTP_PASSWORD="two words "
METRICS_ADDR=127.0.0.1:9999
UNRELATED_DOTENV_ONLY_VAR=x
`
	beforeListen, hadListen := os.LookupEnv("LISTEN_ADDR")

	tests := []struct {
		name       string
		env        map[string]string
		listen     string
		logLevel   string
		smtpPass   string
		metrics    string
		production bool
	}{
		{"development reads the file", map[string]string{}, ":9000", "debug", "two words ", "127.0.0.1:9999", false},
		{"explicit development reads the file", map[string]string{"APP_ENV": "development"}, ":9000", "debug", "two words ", "127.0.0.1:9999", false},
		{"real environment wins", map[string]string{"LISTEN_ADDR": ":7000", "LOG_LEVEL": "warn"}, ":7000", "warn", "two words ", "127.0.0.1:9999", false},
		{"empty real value still wins", map[string]string{"METRICS_ADDR": ""}, ":9000", "debug", "two words ", "", false},
		{"production ignores the file", prodEnv(t), ":8080", "info", "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, ".env", dotenvContent)
			c := mustLoad(t, tc.env, path)
			if c.IsProduction() != tc.production {
				t.Fatalf("IsProduction = %v", c.IsProduction())
			}
			if c.ListenAddr != tc.listen {
				t.Errorf("ListenAddr = %q, want %q", c.ListenAddr, tc.listen)
			}
			if c.LogLevel != tc.logLevel {
				t.Errorf("LogLevel = %q, want %q", c.LogLevel, tc.logLevel)
			}
			if c.SMTPPassword != tc.smtpPass {
				t.Errorf("SMTPPassword = %q, want %q", c.SMTPPassword, tc.smtpPass)
			}
			if c.MetricsAddr != tc.metrics {
				t.Errorf("MetricsAddr = %q, want %q", c.MetricsAddr, tc.metrics)
			}
		})
	}

	// Loading must never write to the process environment.
	if _, ok := os.LookupEnv("UNRELATED_DOTENV_ONLY_VAR"); ok {
		t.Error("Load exported a .env variable into the process environment")
	}
	if after, has := os.LookupEnv("LISTEN_ADDR"); has != hadListen || after != beforeListen {
		t.Error("Load changed LISTEN_ADDR in the process environment")
	}
}

func TestDotenvFileProblems(t *testing.T) {
	t.Run("missing file is fine", func(t *testing.T) {
		mustLoad(t, map[string]string{}, filepath.Join(t.TempDir(), "absent.env"))
	})
	t.Run("unreadable path", func(t *testing.T) {
		dir := t.TempDir()
		e := loadErr(t, map[string]string{}, dir)
		if !hasVar(e.Problems, dir) {
			t.Errorf("problems %v do not name %s", problemVars(e.Problems), dir)
		}
	})
	t.Run("malformed file does not echo content", func(t *testing.T) {
		path := writeFile(t, ".env", "JWT_SIGNING_KEY='SuperSecretValue123\n")
		e := loadErr(t, map[string]string{}, path)
		if !hasVar(e.Problems, path) {
			t.Errorf("problems %v do not name %s", problemVars(e.Problems), path)
		}
		if strings.Contains(e.Error(), "SuperSecretValue123") {
			t.Errorf("error echoes file content: %v", e)
		}
	})
	t.Run("malformed file is not read in production", func(t *testing.T) {
		path := writeFile(t, ".env", "JWT_SIGNING_KEY='unterminated\n")
		mustLoad(t, prodEnv(t), path)
	})
	t.Run("APP_ENV in the file cannot switch to production", func(t *testing.T) {
		path := writeFile(t, ".env", "APP_ENV=production\n")
		e := loadErr(t, map[string]string{}, path)
		if !hasVar(e.Problems, "APP_ENV") {
			t.Errorf("problems %v do not name APP_ENV", problemVars(e.Problems))
		}
	})
	t.Run("APP_ENV=development in the file is harmless", func(t *testing.T) {
		path := writeFile(t, ".env", "APP_ENV=development\n")
		mustLoad(t, map[string]string{}, path)
	})
}

func TestInvalidValues(t *testing.T) {
	seed, _ := newSeed(t)
	weakAllSame := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	pattern := make([]byte, 32)
	for i := range pattern {
		pattern[i] = byte(i % 8)
	}
	weakPattern := base64.StdEncoding.EncodeToString(pattern)
	goodKey := base64.StdEncoding.EncodeToString(randomKey(t))
	otherKey := base64.StdEncoding.EncodeToString(randomKey(t))
	short := base64.RawURLEncoding.EncodeToString(randomKey(t)[:16])
	certDir := t.TempDir()
	cert := filepath.Join(certDir, "cert.pem")
	key := filepath.Join(certDir, "key.pem")
	for _, p := range []string{cert, key} {
		if err := os.WriteFile(p, []byte("pem"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name   string
		env    map[string]string
		want   string // variable that must be named
		secret string // must not appear in the error
	}{
		{"unknown APP_ENV", map[string]string{"APP_ENV": "staging"}, "APP_ENV", ""},
		{"capitalised APP_ENV", map[string]string{"APP_ENV": "Production"}, "APP_ENV", ""},
		{"listen addr without port", map[string]string{"LISTEN_ADDR": "8080"}, "LISTEN_ADDR", ""},
		{"listen addr bad port", map[string]string{"LISTEN_ADDR": ":99999"}, "LISTEN_ADDR", ""},
		{"mysql url", map[string]string{"DATABASE_URL": "mysql://root:TopSecretPw@db/app"}, "DATABASE_URL", "TopSecretPw"},
		{"dsn without scheme", map[string]string{"DATABASE_URL": "host=db password=TopSecretPw"}, "DATABASE_URL", "TopSecretPw"},
		{"postgres bad escape", map[string]string{"DATABASE_URL": "postgres://app:TopSecret%zzPw@db/app"}, "DATABASE_URL", "TopSecret"},
		{"sqlite without path", map[string]string{"DATABASE_URL": "sqlite:"}, "DATABASE_URL", ""},
		{"sqlite with options", map[string]string{"DATABASE_URL": "file:app.db?_pragma=foreign_keys(0)"}, "DATABASE_URL", ""},
		{"bool sqlite flag", map[string]string{"ALLOW_SQLITE_IN_PRODUCTION": "yes"}, "ALLOW_SQLITE_IN_PRODUCTION", ""},
		{"bool insecure tls", map[string]string{"DATABASE_ALLOW_INSECURE_TLS": "2"}, "DATABASE_ALLOW_INSECURE_TLS", ""},
		{"bool auto migrate", map[string]string{"AUTO_MIGRATE": "sometimes"}, "AUTO_MIGRATE", ""},
		{"redis wrong scheme", map[string]string{"REDIS_URL": "http://cache:6379"}, "REDIS_URL", ""},
		{"redis without host", map[string]string{"REDIS_URL": "redis://"}, "REDIS_URL", ""},
		{"cors trailing slash", map[string]string{"CORS_ALLOWED_ORIGINS": "https://app.example.com/"}, "CORS_ALLOWED_ORIGINS", ""},
		{"cors path", map[string]string{"CORS_ALLOWED_ORIGINS": "https://app.example.com/app"}, "CORS_ALLOWED_ORIGINS", ""},
		{"cors bare host", map[string]string{"CORS_ALLOWED_ORIGINS": "app.example.com"}, "CORS_ALLOWED_ORIGINS", ""},
		{"cors wildcard subdomain", map[string]string{"CORS_ALLOWED_ORIGINS": "https://*.example.com"}, "CORS_ALLOWED_ORIGINS", ""},
		{"cors star mixed", map[string]string{"CORS_ALLOWED_ORIGINS": "*,https://app.example.com"}, "CORS_ALLOWED_ORIGINS", ""},
		{"allowed host with space", map[string]string{"ALLOWED_HOSTS": "api.example.com,bad host"}, "ALLOWED_HOSTS", ""},
		{"allowed host bad port", map[string]string{"ALLOWED_HOSTS": "api.example.com:99999"}, "ALLOWED_HOSTS", ""},
		{"allowed host url", map[string]string{"ALLOWED_HOSTS": "https://api.example.com"}, "ALLOWED_HOSTS", ""},
		{"trusted proxy garbage", map[string]string{"TRUSTED_PROXIES": "10.0.0.1,proxy.local"}, "TRUSTED_PROXIES", ""},
		{"trusted proxy bad cidr", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/33"}, "TRUSTED_PROXIES", ""},
		{"tls cert only", map[string]string{"TLS_CERT_FILE": cert}, "TLS_KEY_FILE", ""},
		{"tls key only", map[string]string{"TLS_KEY_FILE": key}, "TLS_CERT_FILE", ""},
		{"tls cert missing", map[string]string{"TLS_CERT_FILE": filepath.Join(certDir, "nope.pem"), "TLS_KEY_FILE": key}, "TLS_CERT_FILE", ""},
		{"redirect without tls", map[string]string{"HTTP_REDIRECT_ADDR": ":80"}, "HTTP_REDIRECT_ADDR", ""},
		{"redirect collides", map[string]string{"TLS_CERT_FILE": cert, "TLS_KEY_FILE": key, "HTTP_REDIRECT_ADDR": "0.0.0.0:8080"}, "HTTP_REDIRECT_ADDR", ""},
		{"metrics equals listen", map[string]string{"METRICS_ADDR": ":8080"}, "METRICS_ADDR", ""},
		{"metrics overlaps listen", map[string]string{"LISTEN_ADDR": ":9090", "METRICS_ADDR": "127.0.0.1:9090"}, "METRICS_ADDR", ""},
		{"metrics garbage", map[string]string{"METRICS_ADDR": "metrics"}, "METRICS_ADDR", ""},
		{"log level", map[string]string{"LOG_LEVEL": "verbose"}, "LOG_LEVEL", ""},
		{"log format", map[string]string{"LOG_FORMAT": "xml"}, "LOG_FORMAT", ""},
		{"debug flag", map[string]string{"DEBUG": "on"}, "DEBUG", ""},
		{"max upload zero", map[string]string{"MAX_UPLOAD_BYTES": "0"}, "MAX_UPLOAD_BYTES", ""},
		{"max upload text", map[string]string{"MAX_UPLOAD_BYTES": "10MB"}, "MAX_UPLOAD_BYTES", ""},
		{"quota below max upload", map[string]string{"UPLOAD_QUOTA_BYTES": "1024"}, "UPLOAD_QUOTA_BYTES", ""},
		{"quota negative", map[string]string{"UPLOAD_QUOTA_BYTES": "-1"}, "UPLOAD_QUOTA_BYTES", ""},
		{"upload type wildcard", map[string]string{"UPLOAD_ALLOWED_TYPES": "image/*"}, "UPLOAD_ALLOWED_TYPES", ""},
		{"upload type garbage", map[string]string{"UPLOAD_ALLOWED_TYPES": "png"}, "UPLOAD_ALLOWED_TYPES", ""},
		{"upload type that runs script", map[string]string{"UPLOAD_ALLOWED_TYPES": "image/png,image/svg+xml"}, "UPLOAD_ALLOWED_TYPES", ""},
		{"body limit zero", map[string]string{"MAX_BODY_BYTES": "0"}, "MAX_BODY_BYTES", ""},
		{"public download caching", map[string]string{"DOWNLOAD_CACHE_CONTROL": "public, max-age=3600"}, "DOWNLOAD_CACHE_CONTROL", ""},
		{"access ttl too short", map[string]string{"ACCESS_TOKEN_TTL": "30s"}, "ACCESS_TOKEN_TTL", ""},
		{"access ttl too long", map[string]string{"ACCESS_TOKEN_TTL": "25h"}, "ACCESS_TOKEN_TTL", ""},
		{"access ttl without unit", map[string]string{"ACCESS_TOKEN_TTL": "15"}, "ACCESS_TOKEN_TTL", ""},
		{"refresh shorter than access", map[string]string{"REFRESH_TOKEN_TTL": "5m"}, "REFRESH_TOKEN_TTL", ""},
		{"refresh ttl days", map[string]string{"REFRESH_TOKEN_TTL": "30d"}, "REFRESH_TOKEN_TTL", ""},
		{"signing key not base64", map[string]string{"JWT_SIGNING_KEY": "not base64 at all!!"}, "JWT_SIGNING_KEY", "not base64 at all!!"},
		{"signing key short", map[string]string{"JWT_SIGNING_KEY": short}, "JWT_SIGNING_KEY", short},
		{"signing key all zero", map[string]string{"JWT_SIGNING_KEY": weakAllSame}, "JWT_SIGNING_KEY", weakAllSame},
		{"signing key pattern", map[string]string{"JWT_SIGNING_KEY": weakPattern}, "JWT_SIGNING_KEY", weakPattern},
		{"signing key too long", map[string]string{"JWT_SIGNING_KEY": seed + seed}, "JWT_SIGNING_KEY", seed},
		{"verification key garbage", map[string]string{"JWT_VERIFICATION_KEYS": "???"}, "JWT_VERIFICATION_KEYS", ""},
		{"verification key short", map[string]string{"JWT_VERIFICATION_KEYS": short}, "JWT_VERIFICATION_KEYS", ""},
		{"key ring without id", map[string]string{"FIELD_ENCRYPTION_KEYS": goodKey}, "FIELD_ENCRYPTION_KEYS", goodKey},
		{"key ring short key", map[string]string{"FIELD_ENCRYPTION_KEYS": "k1:" + short}, "FIELD_ENCRYPTION_KEYS", short},
		{"key ring duplicate id", map[string]string{"FIELD_ENCRYPTION_KEYS": "k1:" + goodKey + ",k1:" + otherKey}, "FIELD_ENCRYPTION_KEYS", otherKey},
		{"key ring duplicate key", map[string]string{"FIELD_ENCRYPTION_KEYS": "k1:" + goodKey + ",k2:" + goodKey}, "FIELD_ENCRYPTION_KEYS", goodKey},
		{"key ring weak key", map[string]string{"FIELD_ENCRYPTION_KEYS": "k1:" + weakPattern}, "FIELD_ENCRYPTION_KEYS", weakPattern},
		{"key ring bad id", map[string]string{"FIELD_ENCRYPTION_KEYS": "key one:" + goodKey}, "FIELD_ENCRYPTION_KEYS", goodKey},
		{"mfa issuer with a colon", map[string]string{"MFA_ISSUER": "Acme:API"}, "MFA_ISSUER", ""},
		{"mfa issuer too long", map[string]string{"MFA_ISSUER": strings.Repeat("x", 65)}, "MFA_ISSUER", ""},
		{"argon2 memory text", map[string]string{"ARGON2_MEMORY_KIB": "19MiB"}, "ARGON2_MEMORY_KIB", ""},
		{"argon2 memory tiny", map[string]string{"ARGON2_MEMORY_KIB": "4"}, "ARGON2_MEMORY_KIB", ""},
		{"argon2 iterations zero", map[string]string{"ARGON2_ITERATIONS": "0"}, "ARGON2_ITERATIONS", ""},
		{"argon2 parallelism zero", map[string]string{"ARGON2_PARALLELISM": "0"}, "ARGON2_PARALLELISM", ""},
		{"argon2 parallelism overflow", map[string]string{"ARGON2_PARALLELISM": "300"}, "ARGON2_PARALLELISM", ""},
		{"hash concurrency negative", map[string]string{"HASH_CONCURRENCY": "-1"}, "HASH_CONCURRENCY", ""},
		{"hash queue depth negative", map[string]string{"HASH_QUEUE_DEPTH": "-1"}, "HASH_QUEUE_DEPTH", ""},
		{"hash queue timeout zero", map[string]string{"HASH_QUEUE_TIMEOUT": "0s"}, "HASH_QUEUE_TIMEOUT", ""},
		{"password min zero", map[string]string{"PASSWORD_MIN_LENGTH": "0"}, "PASSWORD_MIN_LENGTH", ""},
		{"password max below min", map[string]string{"PASSWORD_MAX_LENGTH": "6"}, "PASSWORD_MAX_LENGTH", ""},
		{"password upper flag", map[string]string{"PASSWORD_REQUIRE_UPPER": "maybe"}, "PASSWORD_REQUIRE_UPPER", ""},
		{"password digit flag", map[string]string{"PASSWORD_REQUIRE_DIGIT": "y"}, "PASSWORD_REQUIRE_DIGIT", ""},
		{"cookie secure flag", map[string]string{"COOKIE_SECURE": "ture"}, "COOKIE_SECURE", ""},
		{"reuse grace negative", map[string]string{"REFRESH_REUSE_GRACE": "-1s"}, "REFRESH_REUSE_GRACE", ""},
		{"login failures zero", map[string]string{"LOGIN_MAX_FAILURES": "0"}, "LOGIN_MAX_FAILURES", ""},
		{"login window zero", map[string]string{"LOGIN_FAILURE_WINDOW": "0s"}, "LOGIN_FAILURE_WINDOW", ""},
		{"lockout garbage", map[string]string{"LOGIN_LOCKOUT": "forever"}, "LOGIN_LOCKOUT", ""},
		{"reset ttl negative", map[string]string{"PASSWORD_RESET_TTL": "-30m"}, "PASSWORD_RESET_TTL", ""},
		{"base url relative", map[string]string{"PUBLIC_BASE_URL": "localhost:8080"}, "PUBLIC_BASE_URL", ""},
		{"base url ftp", map[string]string{"PUBLIC_BASE_URL": "ftp://files.example.com"}, "PUBLIC_BASE_URL", ""},
		{"base url query", map[string]string{"PUBLIC_BASE_URL": "https://app.example.com/?x=1"}, "PUBLIC_BASE_URL", ""},
		{"mail from", map[string]string{"MAIL_FROM": "not an address"}, "MAIL_FROM", ""},
		{"smtp port zero", map[string]string{"SMTP_PORT": "0"}, "SMTP_PORT", ""},
		{"smtp port too big", map[string]string{"SMTP_PORT": "70000"}, "SMTP_PORT", ""},
		{"smtp host with port", map[string]string{"SMTP_HOST": "smtp.example.com:25"}, "SMTP_HOST", ""},
		{"ip rate negative", map[string]string{"RATE_LIMIT_IP_PER_MINUTE": "-1"}, "RATE_LIMIT_IP_PER_MINUTE", ""},
		{"user rate text", map[string]string{"RATE_LIMIT_USER_PER_MINUTE": "lots"}, "RATE_LIMIT_USER_PER_MINUTE", ""},
		{"auth rate negative", map[string]string{"RATE_LIMIT_AUTH_PER_MINUTE": "-10"}, "RATE_LIMIT_AUTH_PER_MINUTE", ""},
		{"burst negative", map[string]string{"RATE_LIMIT_BURST": "-1"}, "RATE_LIMIT_BURST", ""},
		{"shutdown zero", map[string]string{"SHUTDOWN_TIMEOUT": "0"}, "SHUTDOWN_TIMEOUT", ""},
		{"read header garbage", map[string]string{"READ_HEADER_TIMEOUT": "5 seconds"}, "READ_HEADER_TIMEOUT", ""},
		{"read zero", map[string]string{"READ_TIMEOUT": "0s"}, "READ_TIMEOUT", ""},
		{"write negative", map[string]string{"WRITE_TIMEOUT": "-1s"}, "WRITE_TIMEOUT", ""},
		{"idle garbage", map[string]string{"IDLE_TIMEOUT": "2 min"}, "IDLE_TIMEOUT", ""},
		{"int overflow", map[string]string{"MAX_BODY_BYTES": "99999999999999999999"}, "MAX_BODY_BYTES", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := loadErr(t, tc.env, "")
			if !hasVar(e.Problems, tc.want) {
				t.Errorf("problems %v do not name %s:\n%v", problemVars(e.Problems), tc.want, e)
			}
			for _, p := range e.Problems {
				if p.Message == "" {
					t.Errorf("problem for %s has no message", p.Var)
				}
				if !strings.Contains(e.Error(), p.String()) {
					t.Errorf("Error() lacks %q", p.String())
				}
			}
			if tc.secret != "" && strings.Contains(e.Error(), tc.secret) {
				t.Errorf("error message leaks the secret value:\n%v", e)
			}
		})
	}
}

// The same invalid values must be rejected in production as well, not only
// reported through Check.
func TestInvalidValuesAlsoFailInProduction(t *testing.T) {
	for _, kv := range [][2]string{
		{"COOKIE_SECURE", "ture"},
		{"ACCESS_TOKEN_TTL", "15"},
		{"TRUSTED_PROXIES", "10.0.0.0/8,proxy"},
	} {
		t.Run(kv[0], func(t *testing.T) {
			e := loadErr(t, with(prodEnv(t), kv[0], kv[1]), "")
			if !hasVar(e.Problems, kv[0]) {
				t.Errorf("problems %v do not name %s", problemVars(e.Problems), kv[0])
			}
		})
	}
}

// A variable that fails to parse must not also produce a refusal about the
// zero value it left behind.
func TestParseFailureSuppressesDerivedRefusal(t *testing.T) {
	e := loadErr(t, with(prodEnv(t), "COOKIE_SECURE", "ture", "TRUSTED_PROXIES", "proxy"), "")
	count := 0
	for _, p := range e.Problems {
		if p.Var == "COOKIE_SECURE" {
			count++
		}
		if p.Var == "TLS_CERT_FILE" {
			t.Errorf("unexpected TLS refusal when TRUSTED_PROXIES failed to parse: %v", p)
		}
	}
	if count != 1 {
		t.Errorf("COOKIE_SECURE reported %d times, want 1:\n%v", count, e)
	}
}

func TestProductionMinimalSecure(t *testing.T) {
	env := prodEnv(t)
	seed, priv := newSeed(t)
	env["JWT_SIGNING_KEY"] = seed

	c := mustLoad(t, env, "")
	if !c.IsProduction() {
		t.Fatal("IsProduction = false")
	}
	if c.DatabaseDriver() != DriverPostgres {
		t.Errorf("DatabaseDriver = %q", c.DatabaseDriver())
	}
	if c.SQLitePath() != "" {
		t.Errorf("SQLitePath = %q, want empty for postgres", c.SQLitePath())
	}
	if !priv.Equal(c.SigningKey) {
		t.Error("SigningKey does not match the configured seed")
	}
	if c.AutoMigrate {
		t.Error("AutoMigrate defaults to true in production")
	}
	if c.LogFormat != "json" {
		t.Errorf("LogFormat = %q", c.LogFormat)
	}
	if want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}; !slices.Equal(c.TrustedProxies, want) {
		t.Errorf("TrustedProxies = %v", c.TrustedProxies)
	}
	if !slices.Equal(c.CORSAllowedOrigins, []string{"https://app.example.com"}) {
		t.Errorf("CORSAllowedOrigins = %v", c.CORSAllowedOrigins)
	}

	refusals, warnings := Check(c)
	if len(refusals) != 0 {
		t.Errorf("refusals for a secure config: %v", refusals)
	}
	for _, name := range []string{"ALLOWED_HOSTS", "SMTP_HOST", "PUBLIC_BASE_URL"} {
		if !hasVar(warnings, name) {
			t.Errorf("warnings %v lack %s", problemVars(warnings), name)
		}
	}
}

// Production may start without FIELD_ENCRYPTION_KEYS (nothing is sealed
// until an account enrols a second factor), but it is told what that costs;
// with the ring the warning goes.
func TestProductionWithoutFieldKeysIsWarned(t *testing.T) {
	c := mustLoad(t, prodEnv(t), "")
	refusals, warnings := Check(c)
	if len(refusals) != 0 || !hasVar(warnings, "FIELD_ENCRYPTION_KEYS") {
		t.Fatalf("refusals %v, warnings %v; want a FIELD_ENCRYPTION_KEYS warning", refusals, problemVars(warnings))
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	key := base64.StdEncoding.EncodeToString(raw)
	c = mustLoad(t, with(prodEnv(t), "FIELD_ENCRYPTION_KEYS", "k1:"+key), "")
	if _, warnings := Check(c); hasVar(warnings, "FIELD_ENCRYPTION_KEYS") {
		t.Fatalf("warned although the ring is set: %v", warnings)
	}
}

func TestProductionAcceptedVariants(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for _, p := range []string{cert, key} {
		if err := os.WriteFile(p, []byte("pem"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		kv       []string
		unset    []string
		warnings []string
	}{
		{"tls instead of proxies", []string{"TLS_CERT_FILE", cert, "TLS_KEY_FILE", key, "HTTP_REDIRECT_ADDR", ":80"}, []string{"TRUSTED_PROXIES"}, nil},
		{"sqlite when allowed", []string{"ALLOW_SQLITE_IN_PRODUCTION", "true"}, []string{"DATABASE_URL"}, nil},
		{"sslmode require", []string{"DATABASE_URL", "postgresql://app:pw@db/app?sslmode=require"}, nil, []string{"DATABASE_URL"}},
		{"sslmode verify-ca", []string{"DATABASE_URL", "postgres://app:pw@db/app?sslmode=verify-ca"}, nil, nil},
		{"insecure db allowed", []string{"DATABASE_URL", "postgres://app:pw@db/app?sslmode=disable", "DATABASE_ALLOW_INSECURE_TLS", "true"}, nil, []string{"DATABASE_ALLOW_INSECURE_TLS"}},
		{"rate limit disabled", []string{"RATE_LIMIT_IP_PER_MINUTE", "0"}, nil, []string{"RATE_LIMIT_IP_PER_MINUTE"}},
		{"public metrics", []string{"METRICS_ADDR", ":9090"}, nil, []string{"METRICS_ADDR"}},
		{"plain redis", []string{"REDIS_URL", "redis://:pw@cache.internal:6379/0"}, nil, []string{"REDIS_URL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := with(prodEnv(t), tc.kv...)
			for _, k := range tc.unset {
				delete(env, k)
			}
			c := mustLoad(t, env, "")
			refusals, warnings := Check(c)
			if len(refusals) != 0 {
				t.Errorf("refusals: %v", refusals)
			}
			for _, w := range tc.warnings {
				if !hasVar(warnings, w) {
					t.Errorf("warnings %v lack %s", problemVars(warnings), w)
				}
			}
		})
	}
}

func TestProductionRefusals(t *testing.T) {
	tests := []struct {
		name  string
		kv    []string
		unset []string
		want  string
	}{
		{"cors star", []string{"CORS_ALLOWED_ORIGINS", "*"}, nil, "CORS_ALLOWED_ORIGINS"},
		{"no tls and no proxy", nil, []string{"TRUSTED_PROXIES"}, "TLS_CERT_FILE"},
		{"proxy trusts everyone", []string{"TRUSTED_PROXIES", "0.0.0.0/0"}, nil, "TRUSTED_PROXIES"},
		{"sqlite default", nil, []string{"DATABASE_URL"}, "DATABASE_URL"},
		{"sqlite url", []string{"DATABASE_URL", "sqlite:/var/lib/app.db"}, nil, "DATABASE_URL"},
		{"postgres without sslmode", []string{"DATABASE_URL", "postgres://app:pw@db/app"}, nil, "DATABASE_URL"},
		{"postgres sslmode disable", []string{"DATABASE_URL", "postgres://app:pw@db/app?sslmode=disable"}, nil, "DATABASE_URL"},
		{"postgres sslmode prefer", []string{"DATABASE_URL", "postgres://app:pw@db/app?sslmode=prefer"}, nil, "DATABASE_URL"},
		{"auto migrate", []string{"AUTO_MIGRATE", "true"}, nil, "AUTO_MIGRATE"},
		{"debug log level", []string{"LOG_LEVEL", "debug"}, nil, "LOG_LEVEL"},
		{"debug flag", []string{"DEBUG", "true"}, nil, "DEBUG"},
		{"no signing key", nil, []string{"JWT_SIGNING_KEY"}, "JWT_SIGNING_KEY"},
		{"weak argon2 memory", []string{"ARGON2_MEMORY_KIB", "8192"}, nil, "ARGON2_MEMORY_KIB"},
		{"weak argon2 iterations", []string{"ARGON2_ITERATIONS", "1"}, nil, "ARGON2_ITERATIONS"},
		{"short passwords", []string{"PASSWORD_MIN_LENGTH", "6"}, nil, "PASSWORD_MIN_LENGTH"},
		{"insecure cookies", []string{"COOKIE_SECURE", "false"}, nil, "COOKIE_SECURE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := with(prodEnv(t), tc.kv...)
			for _, k := range tc.unset {
				delete(env, k)
			}
			e := loadErr(t, env, "")
			if !hasVar(e.Problems, tc.want) {
				t.Errorf("problems %v do not name %s", problemVars(e.Problems), tc.want)
			}

			// The same settings load in development, reported as at most
			// warnings.
			env["APP_ENV"] = "development"
			c := mustLoad(t, env, "")
			if refusals, _ := Check(c); len(refusals) != 0 {
				t.Errorf("development refusals: %v", refusals)
			}
		})
	}
}

func TestProductionReportsEveryProblemAtOnce(t *testing.T) {
	env := map[string]string{
		"APP_ENV":              "production",
		"CORS_ALLOWED_ORIGINS": "*",
		"LOG_LEVEL":            "debug",
		"DEBUG":                "true",
		"COOKIE_SECURE":        "false",
		"AUTO_MIGRATE":         "true",
		"ARGON2_MEMORY_KIB":    "1024",
		"PASSWORD_MIN_LENGTH":  "6",
		"ACCESS_TOKEN_TTL":     "soon",
		"SMTP_PORT":            "smtp",
	}
	e := loadErr(t, env, "")
	want := []string{
		"CORS_ALLOWED_ORIGINS", "LOG_LEVEL", "DEBUG", "COOKIE_SECURE", "AUTO_MIGRATE",
		"ARGON2_MEMORY_KIB", "PASSWORD_MIN_LENGTH", "JWT_SIGNING_KEY", "DATABASE_URL",
		"TLS_CERT_FILE", "ACCESS_TOKEN_TTL", "SMTP_PORT",
	}
	for _, name := range want {
		if !hasVar(e.Problems, name) {
			t.Errorf("problems %v do not name %s", problemVars(e.Problems), name)
		}
	}
	if lines := strings.Split(e.Error(), "\n"); len(lines) != len(e.Problems) {
		t.Errorf("Error() has %d lines for %d problems", len(lines), len(e.Problems))
	}
	cors := `CORS_ALLOWED_ORIGINS: "*" is not allowed in production; list the exact origins, e.g. https://app.example.com`
	if !strings.Contains(e.Error(), cors) {
		t.Errorf("Error() lacks %q:\n%v", cors, e)
	}
	// Problems follow the variable order so related ones stay together.
	order := Vars()
	last := -2
	for _, p := range e.Problems {
		i := slices.Index(order, p.Var)
		if i < last {
			t.Errorf("problems out of order: %v", problemVars(e.Problems))
			break
		}
		last = i
	}
}

func TestDevelopmentWarnings(t *testing.T) {
	c := mustLoad(t, map[string]string{
		"COOKIE_SECURE":        "false",
		"CORS_ALLOWED_ORIGINS": "*",
		"ARGON2_MEMORY_KIB":    "64",
		"ARGON2_ITERATIONS":    "1",
		"PASSWORD_MIN_LENGTH":  "4",
		"TRUSTED_PROXIES":      "::/0",
	}, "")
	refusals, warnings := Check(c)
	if len(refusals) != 0 {
		t.Errorf("development refusals: %v", refusals)
	}
	for _, name := range []string{"COOKIE_SECURE", "CORS_ALLOWED_ORIGINS", "JWT_SIGNING_KEY", "ARGON2_MEMORY_KIB", "PASSWORD_MIN_LENGTH", "TRUSTED_PROXIES"} {
		if !hasVar(warnings, name) {
			t.Errorf("warnings %v lack %s", problemVars(warnings), name)
		}
	}

	seed, _ := newSeed(t)
	quiet := mustLoad(t, map[string]string{"JWT_SIGNING_KEY": seed}, "")
	if refusals, warnings := Check(quiet); len(refusals)+len(warnings) != 0 {
		t.Errorf("default development config with a key: refusals %v, warnings %v", refusals, warnings)
	}
	if r, w := Check(nil); r != nil || w != nil {
		t.Error("Check(nil) reported problems")
	}
}

func TestDatabaseForms(t *testing.T) {
	tests := []struct {
		url, driver, path string
	}{
		{"", DriverSQLite, filepath.Join("/srv", "app.db")},
		{"sqlite:/var/lib/app.db", DriverSQLite, "/var/lib/app.db"},
		{"sqlite:///var/lib/app.db", DriverSQLite, "/var/lib/app.db"},
		{"sqlite:data/app.db", DriverSQLite, "data/app.db"},
		{"file:local.db", DriverSQLite, "local.db"},
		{"sqlite::memory:", DriverSQLite, ":memory:"},
		{"postgres://app:pw@db:5432/app?sslmode=verify-full", DriverPostgres, ""},
		{"postgresql://app@db/app", DriverPostgres, ""},
		{"PostgreSQL://app@db/app", DriverPostgres, ""},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			c := mustLoad(t, map[string]string{"DATABASE_URL": tc.url, "DATA_DIR": "/srv"}, "")
			if got := c.DatabaseDriver(); got != tc.driver {
				t.Errorf("DatabaseDriver = %q, want %q", got, tc.driver)
			}
			if got := c.SQLitePath(); got != tc.path {
				t.Errorf("SQLitePath = %q, want %q", got, tc.path)
			}
		})
	}
}

func TestListParsing(t *testing.T) {
	_, pub1, _ := ed25519.GenerateKey(rand.Reader)
	pub2, _, _ := ed25519.GenerateKey(rand.Reader)
	k1, k2 := randomKey(t), randomKey(t)

	c := mustLoad(t, map[string]string{
		"TRUSTED_PROXIES":       " 10.0.0.1, 192.168.1.7/16 ,::1, 2001:db8::/32, ::ffff:10.1.2.3,",
		"CORS_ALLOWED_ORIGINS":  "https://App.Example.com, http://localhost:5173",
		"ALLOWED_HOSTS":         "API.example.com, api.example.com:8443, 127.0.0.1, [::1]:8080",
		"UPLOAD_ALLOWED_TYPES":  "image/PNG, application/pdf",
		"JWT_VERIFICATION_KEYS": base64.RawURLEncoding.EncodeToString(pub1.Public().(ed25519.PublicKey)) + "," + base64.StdEncoding.EncodeToString(pub2),
		"FIELD_ENCRYPTION_KEYS": "2025b:" + base64.StdEncoding.EncodeToString(k2) + ", 2024a:" + base64.RawURLEncoding.EncodeToString(k1),
	}, "")

	wantPrefixes := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.1/32"),
		netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("10.1.2.3/32"),
	}
	if !slices.Equal(c.TrustedProxies, wantPrefixes) {
		t.Errorf("TrustedProxies = %v, want %v", c.TrustedProxies, wantPrefixes)
	}
	if want := []string{"https://app.example.com", "http://localhost:5173"}; !slices.Equal(c.CORSAllowedOrigins, want) {
		t.Errorf("CORSAllowedOrigins = %v, want %v", c.CORSAllowedOrigins, want)
	}
	if want := []string{"api.example.com", "api.example.com:8443", "127.0.0.1", "[::1]:8080"}; !slices.Equal(c.AllowedHosts, want) {
		t.Errorf("AllowedHosts = %v, want %v", c.AllowedHosts, want)
	}
	if want := []string{"image/png", "application/pdf"}; !slices.Equal(c.UploadAllowedTypes, want) {
		t.Errorf("UploadAllowedTypes = %v, want %v", c.UploadAllowedTypes, want)
	}
	if len(c.JWTVerificationKeys) != 2 || !c.JWTVerificationKeys[0].Equal(pub1.Public()) || !c.JWTVerificationKeys[1].Equal(pub2) {
		t.Errorf("JWTVerificationKeys do not match the configured keys")
	}
	if len(c.FieldEncryptionKeys) != 2 {
		t.Fatalf("FieldEncryptionKeys has %d keys, want 2", len(c.FieldEncryptionKeys))
	}
	if c.FieldEncryptionKeys[0].ID != "2025b" || !bytes.Equal(c.FieldEncryptionKeys[0].Key, k2) {
		t.Error("primary encryption key is not the first one listed")
	}
	if c.FieldEncryptionKeys[1].ID != "2024a" || !bytes.Equal(c.FieldEncryptionKeys[1].Key, k1) {
		t.Error("second encryption key does not match")
	}
}

func TestSigningKeyEncodings(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, enc := range map[string]*base64.Encoding{
		"raw url": base64.RawURLEncoding, "url": base64.URLEncoding,
		"raw std": base64.RawStdEncoding, "std": base64.StdEncoding,
	} {
		t.Run(name, func(t *testing.T) {
			c := mustLoad(t, map[string]string{"JWT_SIGNING_KEY": enc.EncodeToString(priv.Seed())}, "")
			if !priv.Equal(c.SigningKey) {
				t.Error("SigningKey does not match")
			}
		})
	}
}

func TestRateBurst(t *testing.T) {
	c := mustLoad(t, map[string]string{"RATE_LIMIT_BURST": "25"}, "")
	if got := c.RateBurst(300); got != 25 {
		t.Errorf("RateBurst = %d, want 25", got)
	}
}

func TestMaskedHidesSecrets(t *testing.T) {
	seed, _ := newSeed(t)
	ringKey := base64.StdEncoding.EncodeToString(randomKey(t))
	const (
		dbPassword    = "Db-Pa55word-Xy"
		queryPassword = "QueryPa55-Zq"
		redisPassword = "Red1sPa55-Kv"
		smtpPassword  = "Smtp-Pa55-Wj"
	)
	env := map[string]string{
		"DATABASE_URL":          "postgres://app:" + dbPassword + "@db.internal:5432/app?sslmode=verify-full&password=" + queryPassword,
		"REDIS_URL":             "rediss://default:" + redisPassword + "@cache:6380/0",
		"JWT_SIGNING_KEY":       seed,
		"FIELD_ENCRYPTION_KEYS": "k1:" + ringKey,
		"SMTP_HOST":             "smtp.example.com",
		"SMTP_USERNAME":         "mailer",
		"SMTP_PASSWORD":         smtpPassword,
	}
	c := mustLoad(t, env, "")
	lines := c.Masked()

	var logBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("config", "config", c)
	outputs := map[string]string{
		"Masked": strings.Join(lines, "\n"),
		"%v":     fmt.Sprintf("%v", c),
		"%+v":    fmt.Sprintf("%+v", *c),
		"%#v":    fmt.Sprintf("%#v", c),
		"keys":   fmt.Sprintf("%v %#v", c.FieldEncryptionKeys, c.FieldEncryptionKeys[0]),
		"slog":   logBuf.String(),
	}
	rawKey := string(c.FieldEncryptionKeys[0].Key)
	for name, out := range outputs {
		for _, secret := range []string{dbPassword, queryPassword, redisPassword, smtpPassword, seed, ringKey} {
			if strings.Contains(out, secret) {
				t.Errorf("%s output contains secret %q", name, secret)
			}
		}
		if strings.Contains(out, rawKey) {
			t.Errorf("%s output contains raw key bytes", name)
		}
	}

	want := []string{
		"DATABASE_URL=postgres://app:***@db.internal:5432/app?sslmode=verify-full&password=***",
		"REDIS_URL=rediss://default:***@cache:6380/0",
		"JWT_SIGNING_KEY=***set***",
		"FIELD_ENCRYPTION_KEYS=***set***",
		"SMTP_PASSWORD=***set***",
		"SMTP_USERNAME=mailer",
		"ACCESS_TOKEN_TTL=15m0s",
		"APP_ENV=development",
	}
	for _, w := range want {
		if !slices.Contains(lines, w) {
			t.Errorf("Masked lacks %q", w)
		}
	}

	// Every variable appears exactly once, in the documented order.
	vars := Vars()
	if len(lines) != len(vars) {
		t.Fatalf("Masked has %d lines, want %d", len(lines), len(vars))
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, vars[i]+"=") {
			t.Errorf("line %d = %q, want variable %s", i, l, vars[i])
		}
	}
}

func TestMaskedEmptySecrets(t *testing.T) {
	c := mustLoad(t, map[string]string{"DATABASE_URL": "sqlite:/var/lib/app.db"}, "")
	lines := c.Masked()
	for _, w := range []string{
		"DATABASE_URL=sqlite:/var/lib/app.db",
		"REDIS_URL=",
		"JWT_SIGNING_KEY=",
		"FIELD_ENCRYPTION_KEYS=",
		"SMTP_PASSWORD=",
	} {
		if !slices.Contains(lines, w) {
			t.Errorf("Masked lacks %q", w)
		}
	}
}

func TestMaskURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"postgres://db/app", "postgres://db/app"},
		{"postgres://app@db/app", "postgres://app@db/app"},
		{"postgres://app:p%40ss@db/app", "postgres://app:***@db/app"},
		{"postgres://db/app?user=app&password=secret&sslpassword=x", "postgres://db/app?user=app&password=***&sslpassword=***"},
		{"redis://:secret@cache:6379/0", "redis://:***@cache:6379/0"},
		{"file:app.db", "file:app.db"},
		{"sqlite:/var/lib/app.db", "sqlite:/var/lib/app.db"},
		{"sqlite:///var/lib/app.db", "sqlite:///var/lib/app.db"},
		{"file:app.db?_pragma=key('secret')", "file:app.db?***"},
		{"host=db password=secret", "***set***"},
		{"postgres://app:pw@db/%zz", "***set***"},
	}
	for _, tc := range tests {
		if got := maskURL(tc.in); got != tc.want {
			t.Errorf("maskURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestErrorFormatting(t *testing.T) {
	e := &Error{Problems: []Problem{{Var: "A", Message: "first"}, {Var: "B", Message: "second"}, {Message: "general"}}}
	if got, want := e.Error(), "A: first\nB: second\ngeneral"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !e.Has("B") || e.Has("C") {
		t.Error("Has reports the wrong variables")
	}
	var empty *Error
	if empty.Error() == "" || empty.Has("A") {
		t.Error("nil *Error misbehaves")
	}
}

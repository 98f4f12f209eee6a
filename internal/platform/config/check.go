package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Check judges a configuration without failing. Refusals are the settings
// that stop the service from starting in production; they are only reported
// when c is a production configuration, because development is allowed to
// trade safety for convenience. Warnings are settings worth a second look,
// such as development running with an auto-generated signing key, cookies
// without the Secure flag or a wildcard CORS origin.
//
// Load already calls Check; call it again to log the warnings.
func Check(c *Config) (refusals []Problem, warnings []Problem) {
	if c == nil {
		return nil, nil
	}
	var ref, warn problems
	prod := c.IsProduction()
	warn = append(warn, c.dotenvLookAlikes...)

	// strict reports a setting as a refusal in production and as a warning
	// in development.
	strict := func(name, prodMsg, devMsg string) {
		if prod {
			ref.add(name, "%s", prodMsg)
		} else if devMsg != "" {
			warn.add(name, "%s", devMsg)
		}
	}

	if slices.Contains(c.CORSAllowedOrigins, "*") {
		strict("CORS_ALLOWED_ORIGINS",
			`"*" is not allowed in production; list the exact origins, e.g. https://app.example.com`,
			`"*" lets any web site call the API from a browser; list the exact origins before going to production`)
	}
	if prod {
		for _, o := range c.CORSAllowedOrigins {
			if strings.HasPrefix(o, "http://") && !isLocalOrigin(o) {
				warn.add("CORS_ALLOWED_ORIGINS", "%q is plain http; pages served over http can be tampered with in transit, prefer https", o)
			}
		}
	}

	if prod && !c.TLSEnabled() && len(c.TrustedProxies) == 0 {
		ref.add("TLS_CERT_FILE", "no TLS in production; serve TLS with TLS_CERT_FILE/TLS_KEY_FILE or list the TLS-terminating proxy in TRUSTED_PROXIES")
	}
	for _, p := range c.TrustedProxies {
		if p.Bits() == 0 {
			strict("TRUSTED_PROXIES",
				fmt.Sprintf("%s trusts every address, so any client can forge X-Forwarded-For and its apparent IP; list only the proxy addresses", p),
				fmt.Sprintf("%s trusts every address, so any client can forge X-Forwarded-For; list only the proxy addresses before going to production", p))
			break
		}
	}
	if prod && len(c.AllowedHosts) == 0 {
		warn.add("ALLOWED_HOSTS", "is empty, so requests for any Host header are served; list the public host names, e.g. api.example.com, to block host header attacks")
	}

	c.checkDatabase(prod, &ref, &warn)

	if prod && c.RedisURL != "" && strings.HasPrefix(strings.ToLower(c.RedisURL), "redis://") && !redisIsLocal(c.RedisURL) {
		warn.add("REDIS_URL", "uses redis:// without TLS to a remote host; use rediss:// unless Redis is only reachable on a private network")
	}

	if prod && c.MetricsAddr != "" && !isLoopbackAddr(c.MetricsAddr) {
		warn.add("METRICS_ADDR", "%q is reachable from other hosts; bind it to 127.0.0.1 or protect it at the network level, metrics reveal internals", c.MetricsAddr)
	}

	if prod && c.AutoMigrate {
		ref.add("AUTO_MIGRATE", "must be false in production so schema changes are deliberate; run `api migrate up` as a deploy step and unset AUTO_MIGRATE")
	}
	if prod && c.LogLevel == "debug" {
		ref.add("LOG_LEVEL", "debug is not allowed in production because debug logs may contain request data and secrets; use info")
	}
	if prod && c.Debug {
		ref.add("DEBUG", "must be false in production because debug mode exposes internals; unset DEBUG")
	}

	if c.JWTSigningKey == "" && len(c.SigningKey) == 0 {
		strict("JWT_SIGNING_KEY",
			"is required in production so tokens survive restarts and every instance signs with the same key; generate one with `api keys generate` and keep it in a secret store",
			"is not set, so a signing key is generated and kept under DATA_DIR; set it explicitly before going to production")
	}

	if c.Argon2MemoryKiB < MinArgon2MemoryKiB || c.Argon2Iterations < MinArgon2Iterations {
		msg := fmt.Sprintf("Argon2id with m=%d KiB, t=%d is below the OWASP minimum m=%d KiB, t=%d, making leaked password hashes cheap to crack",
			c.Argon2MemoryKiB, c.Argon2Iterations, MinArgon2MemoryKiB, MinArgon2Iterations)
		name := "ARGON2_MEMORY_KIB"
		if c.Argon2MemoryKiB >= MinArgon2MemoryKiB {
			name = "ARGON2_ITERATIONS"
		}
		strict(name, msg+"; unset ARGON2_MEMORY_KIB and ARGON2_ITERATIONS to use the defaults", msg+"; fine for tests, not for production")
	}

	if c.PasswordMinLength < MinPasswordLengthProd {
		strict("PASSWORD_MIN_LENGTH",
			fmt.Sprintf("%d is below %d; short passwords are guessed quickly, set it to at least %d", c.PasswordMinLength, MinPasswordLengthProd, MinPasswordLengthProd),
			fmt.Sprintf("%d is below %d, which production requires", c.PasswordMinLength, MinPasswordLengthProd))
	}

	if !c.CookieSecure {
		strict("COOKIE_SECURE",
			"must be true in production so session cookies are never sent over plain http; unset COOKIE_SECURE",
			"is false, so cookies are also sent over plain http; fine on http://localhost, required to be true in production")
	}

	if prod && strings.HasPrefix(strings.ToLower(c.PublicBaseURL), "http://") {
		warn.add("PUBLIC_BASE_URL", "%q is plain http, so password reset links travel unencrypted; use https://", c.PublicBaseURL)
	}
	if prod && c.SMTPHost == "" {
		warn.add("SMTP_HOST", "is not set, so password reset mails are only written to the log; set SMTP_HOST to deliver them")
	}

	if prod {
		for _, r := range []struct {
			name string
			val  int
		}{
			{"RATE_LIMIT_IP_PER_MINUTE", c.RateLimitIPPerMinute},
			{"RATE_LIMIT_USER_PER_MINUTE", c.RateLimitUserPerMinute},
			{"RATE_LIMIT_AUTH_PER_MINUTE", c.RateLimitAuthPerMinute},
		} {
			if r.val == 0 {
				warn.add(r.name, "is 0, which disables this rate limit; unset it to use the default")
			}
		}
	}

	return ref, warn
}

// scriptableTypes are media types a browser may execute when served inline,
// which turns an upload into stored cross-site scripting.
var scriptableTypes = map[string]bool{
	"text/html":              true,
	"application/xhtml+xml":  true,
	"image/svg+xml":          true,
	"application/javascript": true,
	"text/javascript":        true,
	"application/xml":        true,
	"text/xml":               true,
}

func (c *Config) checkDatabase(prod bool, ref, warn *problems) {
	switch c.DatabaseDriver() {
	case DriverSQLite:
		if prod && !c.AllowSQLiteInProduction {
			ref.add("DATABASE_URL", "SQLite is not allowed in production because it cannot be shared between instances; use postgres://...?sslmode=verify-full, or set ALLOW_SQLITE_IN_PRODUCTION=true for a single-instance deployment")
		}
	case DriverPostgres:
		mode := postgresSSLMode(c.DatabaseURL)
		switch mode {
		case "require", "verify-ca", "verify-full":
			if prod && mode == "require" {
				warn.add("DATABASE_URL", "sslmode=require encrypts but does not verify the server certificate; prefer sslmode=verify-full")
			}
			return
		}
		if !prod {
			return
		}
		setting := "sslmode=" + mode
		if mode == "" {
			setting = "no sslmode (which means prefer)"
		}
		if c.DatabaseAllowInsecureTLS {
			warn.add("DATABASE_ALLOW_INSECURE_TLS", "is true, so the database connection (%s) may be unencrypted; remove it once the database offers TLS", setting)
			return
		}
		ref.add("DATABASE_URL", "%s does not guarantee an encrypted connection; add sslmode=verify-full (or verify-ca/require), or set DATABASE_ALLOW_INSECURE_TLS=true if the network is trusted", setting)
	}
}

func isLocalOrigin(o string) bool {
	u, err := url.Parse(o)
	if err != nil {
		return false
	}
	return isLoopbackHost(u.Hostname())
}

func redisIsLocal(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	return isLoopbackHost(u.Hostname())
}

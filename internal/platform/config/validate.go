package config

import (
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// validate checks values that parsed but are invalid in any environment and
// derives fields such as SigningKey. already holds the parse problems so that
// a variable that failed to parse is not reported twice.
func (c *Config) validate(already problems) problems {
	var ps problems
	skip := func(name string) bool { return already.has(name) }

	// Network listeners.
	for _, a := range []struct{ name, val string }{
		{"LISTEN_ADDR", c.ListenAddr},
		{"METRICS_ADDR", c.MetricsAddr},
		{"HTTP_REDIRECT_ADDR", c.HTTPRedirectAddr},
	} {
		if a.val == "" && a.name != "LISTEN_ADDR" {
			continue
		}
		if err := checkListenAddr(a.val); err != "" {
			ps.add(a.name, "%q %s; use host:port or :port, e.g. :8080 or 127.0.0.1:9090", a.val, err)
		}
	}
	if c.MetricsAddr != "" && sameListener(c.MetricsAddr, c.ListenAddr) {
		ps.add("METRICS_ADDR", "%q collides with LISTEN_ADDR %q; metrics need their own port, e.g. 127.0.0.1:9090, or leave METRICS_ADDR unset to disable them", c.MetricsAddr, c.ListenAddr)
	}
	if c.HTTPRedirectAddr != "" && (sameListener(c.HTTPRedirectAddr, c.ListenAddr) || (c.MetricsAddr != "" && sameListener(c.HTTPRedirectAddr, c.MetricsAddr))) {
		ps.add("HTTP_REDIRECT_ADDR", "%q collides with LISTEN_ADDR or METRICS_ADDR; use a separate port, usually :80", c.HTTPRedirectAddr)
	}

	if strings.TrimSpace(c.DataDir) == "" {
		ps.add("DATA_DIR", "must not be empty; point it at a writable directory, e.g. ./data")
	}

	c.validateDatabase(&ps)

	if c.RedisURL != "" {
		if msg := checkRedisURL(c.RedisURL); msg != "" {
			ps.add("REDIS_URL", "%s", msg)
		}
	}

	c.validateHTTP(&ps, skip)

	// Logging.
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		ps.add("LOG_LEVEL", "%q is not a log level; use debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		ps.add("LOG_FORMAT", "%q is not a log format; use text or json", c.LogFormat)
	}

	c.validateUploads(&ps, skip)

	// Tokens and keys.
	if strings.TrimSpace(c.JWTIssuer) == "" {
		ps.add("JWT_ISSUER", "must not be empty; tokens are checked against it")
	}
	if strings.TrimSpace(c.JWTAudience) == "" {
		ps.add("JWT_AUDIENCE", "must not be empty; tokens are checked against it")
	}
	if !skip("ACCESS_TOKEN_TTL") && (c.AccessTokenTTL < time.Minute || c.AccessTokenTTL > 24*time.Hour) {
		ps.add("ACCESS_TOKEN_TTL", "%s is outside 1m..24h; access tokens cannot be revoked, so keep them short, e.g. 15m", c.AccessTokenTTL)
	}
	if !skip("REFRESH_TOKEN_TTL") && !skip("ACCESS_TOKEN_TTL") && c.RefreshTokenTTL < c.AccessTokenTTL {
		ps.add("REFRESH_TOKEN_TTL", "%s is shorter than ACCESS_TOKEN_TTL %s; a refresh token must outlive the access token it renews, e.g. 720h", c.RefreshTokenTTL, c.AccessTokenTTL)
	}
	if c.JWTSigningKey != "" {
		key, err := parseSigningKey(c.JWTSigningKey)
		if err != nil {
			ps.add("JWT_SIGNING_KEY", "%s", err.Error())
		} else {
			c.SigningKey = key
		}
	}
	if c.JWTSigningKeyFile != "" && c.JWTSigningKey != "" {
		ps.add("JWT_SIGNING_KEY_FILE", "set either JWT_SIGNING_KEY or JWT_SIGNING_KEY_FILE, not both")
	}
	if c.JWTVerificationKeysFile != "" && len(c.JWTVerificationKeys) > 0 {
		ps.add("JWT_VERIFICATION_KEYS_FILE", "set either JWT_VERIFICATION_KEYS or JWT_VERIFICATION_KEYS_FILE, not both")
	}
	if c.JWTSigningKeyFile != "" || c.JWTVerificationKeysFile != "" {
		signing, verify, p := c.readKeyFiles()
		if p != nil {
			ps.add(p.Var, "%s", p.Message)
		} else {
			if signing != nil {
				c.SigningKey = signing
			}
			if verify != nil {
				c.JWTVerificationKeys = verify
			}
		}
	}

	// Password hashing.
	if !skip("ARGON2_PARALLELISM") && c.Argon2Parallelism < 1 {
		ps.add("ARGON2_PARALLELISM", "must be at least 1")
	}
	if !skip("ARGON2_ITERATIONS") && c.Argon2Iterations < 1 {
		ps.add("ARGON2_ITERATIONS", "must be at least 1; %d is the recommended minimum", MinArgon2Iterations)
	}
	if !skip("ARGON2_MEMORY_KIB") && !skip("ARGON2_PARALLELISM") && c.Argon2MemoryKiB < 8*uint32(max(c.Argon2Parallelism, 1)) {
		ps.add("ARGON2_MEMORY_KIB", "must be at least 8 KiB per lane (8 x ARGON2_PARALLELISM); %d is the recommended minimum", MinArgon2MemoryKiB)
	}
	if !skip("HASH_CONCURRENCY") && c.HashConcurrency < 0 {
		ps.add("HASH_CONCURRENCY", "must not be negative; 0 means one hash at a time per CPU")
	}
	if !skip("HASH_QUEUE_DEPTH") && c.HashQueueDepth < 0 {
		ps.add("HASH_QUEUE_DEPTH", "must not be negative; 0 means twice HASH_CONCURRENCY")
	}
	positive(&ps, skip, "HASH_QUEUE_TIMEOUT", c.HashQueueTimeout)

	// Password policy.
	if !skip("PASSWORD_MIN_LENGTH") && c.PasswordMinLength < 1 {
		ps.add("PASSWORD_MIN_LENGTH", "must be at least 1; %d or more is recommended", MinPasswordLengthProd)
	}
	if !skip("PASSWORD_MIN_LENGTH") && !skip("PASSWORD_MAX_LENGTH") && c.PasswordMaxLength < c.PasswordMinLength {
		ps.add("PASSWORD_MAX_LENGTH", "%d is below PASSWORD_MIN_LENGTH %d; raise it, e.g. 128", c.PasswordMaxLength, c.PasswordMinLength)
	}

	// Sessions and login throttling.
	if !skip("REFRESH_REUSE_GRACE") && c.RefreshReuseGrace < 0 {
		ps.add("REFRESH_REUSE_GRACE", "must not be negative; 0 treats any reuse of a rotated refresh token as theft")
	}
	if !skip("LOGIN_MAX_FAILURES") && c.LoginMaxFailures < 1 {
		ps.add("LOGIN_MAX_FAILURES", "must be at least 1; it is the number of failed logins before the account is locked")
	}
	positive(&ps, skip, "LOGIN_FAILURE_WINDOW", c.LoginFailureWindow)
	positive(&ps, skip, "LOGIN_LOCKOUT", c.LoginLockout)
	positive(&ps, skip, "PASSWORD_RESET_TTL", c.PasswordResetTTL)
	positive(&ps, skip, "EMAIL_CHANGE_TTL", c.EmailChangeTTL)
	positive(&ps, skip, "EMAIL_VERIFY_TTL", c.EmailVerifyTTL)

	// Two-factor authentication. The otpauth:// label is "issuer:account",
	// so a colon in the issuer would split it in the wrong place.
	if iss := strings.TrimSpace(c.MFAIssuer); iss == "" || len(iss) > 64 || strings.ContainsAny(iss, ":\r\n") {
		ps.add("MFA_ISSUER", "%q must be 1 to 64 characters without a colon, e.g. \"Example API\"", c.MFAIssuer)
	}

	// Mail.
	if base, msg := normalizeBaseURL(c.PublicBaseURL); msg != "" {
		ps.add("PUBLIC_BASE_URL", "%s", msg)
	} else {
		c.PublicBaseURL = base
	}
	if _, err := mail.ParseAddress(c.MailFrom); err != nil {
		ps.add("MAIL_FROM", "%q is not an e-mail address; use e.g. no-reply@example.com or \"Example <no-reply@example.com>\"", c.MailFrom)
	}
	if !skip("SMTP_PORT") && (c.SMTPPort < 1 || c.SMTPPort > 65535) {
		ps.add("SMTP_PORT", "%d is not a TCP port; use 587 (STARTTLS) or 465 (TLS)", c.SMTPPort)
	}
	if !skip("MAIL_PER_RECIPIENT_PER_HOUR") && c.MailPerRecipientPerHour < 1 {
		ps.add("MAIL_PER_RECIPIENT_PER_HOUR", "must be at least 1; it is how many messages one address may be sent per hour (e.g. 5)")
	}
	if c.SMTPHost != "" {
		if err := checkHost(c.SMTPHost); err != "" {
			ps.add("SMTP_HOST", "%q %s; give only the host name, the port goes in SMTP_PORT", c.SMTPHost, err)
		}
	}

	// Rate limits.
	for _, r := range []struct {
		name string
		val  int
	}{
		{"RATE_LIMIT_IP_PER_MINUTE", c.RateLimitIPPerMinute},
		{"RATE_LIMIT_USER_PER_MINUTE", c.RateLimitUserPerMinute},
		{"RATE_LIMIT_AUTH_PER_MINUTE", c.RateLimitAuthPerMinute},
		{"RATE_LIMIT_BURST", c.RateLimitBurst},
	} {
		if !skip(r.name) && r.val < 0 {
			ps.add(r.name, "must not be negative; 0 disables the limit")
		}
	}

	// Server timeouts.
	positive(&ps, skip, "SHUTDOWN_TIMEOUT", c.ShutdownTimeout)
	positive(&ps, skip, "READ_HEADER_TIMEOUT", c.ReadHeaderTimeout)
	positive(&ps, skip, "READ_TIMEOUT", c.ReadTimeout)
	positive(&ps, skip, "WRITE_TIMEOUT", c.WriteTimeout)
	positive(&ps, skip, "IDLE_TIMEOUT", c.IdleTimeout)

	return ps
}

// positive rejects zero and negative durations, which net/http and the
// limiters would otherwise interpret as "no limit".
func positive(ps *problems, skip func(string) bool, name string, d time.Duration) {
	if !skip(name) && d <= 0 {
		ps.add(name, "must be greater than 0, e.g. 30s")
	}
}

func (c *Config) validateDatabase(ps *problems) {
	const forms = "use postgres://user:password@host:5432/db?sslmode=verify-full, postgresql://..., sqlite:PATH or file:PATH, or leave it empty for SQLite at DATA_DIR/app.db"
	driver, path := databaseForm(c.DatabaseURL)
	switch driver {
	case "":
		// Only the scheme is quoted: the rest may contain a password.
		scheme, _, found := strings.Cut(c.DatabaseURL, ":")
		if !found || strings.ContainsAny(scheme, "/@") {
			ps.add("DATABASE_URL", "is not in an accepted form; %s", forms)
		} else {
			ps.add("DATABASE_URL", "scheme %q is not supported; %s", scheme, forms)
		}
	case DriverPostgres:
		u, err := url.Parse(c.DatabaseURL)
		if err != nil {
			ps.add("DATABASE_URL", "is not a valid URL; percent-encode special characters in the user name and password (e.g. @ as %%40, / as %%2F)")
			return
		}
		if _, err := url.ParseQuery(u.RawQuery); err != nil {
			ps.add("DATABASE_URL", "has a malformed query string; write options as ?sslmode=verify-full&connect_timeout=5")
		}
	case DriverSQLite:
		if c.DatabaseURL == "" {
			return
		}
		if path == "" {
			ps.add("DATABASE_URL", "names no SQLite file; use e.g. sqlite:./data/app.db")
		} else if strings.ContainsAny(path, "?#") {
			ps.add("DATABASE_URL", "must not carry connection options; the application sets SQLite pragmas (foreign keys, WAL, busy timeout) itself, so give only the path, e.g. sqlite:./data/app.db")
		}
	}
}

// postgresSSLMode returns the sslmode of a PostgreSQL URL, or "" when absent,
// in which case drivers use "prefer" and silently fall back to plain text.
func postgresSSLMode(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	q, _ := url.ParseQuery(u.RawQuery)
	return strings.ToLower(q.Get("sslmode"))
}

func checkRedisURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "is not a valid URL; use redis://host:6379/0 or rediss://host:6380/0 and percent-encode special characters in the password"
	}
	switch strings.ToLower(u.Scheme) {
	case "redis", "rediss":
	default:
		return fmt.Sprintf("scheme %q is not supported; use redis://host:6379/0 or rediss://host:6380/0 (TLS)", u.Scheme)
	}
	if u.Host == "" {
		return "names no host; use redis://host:6379/0 or rediss://host:6380/0"
	}
	return ""
}

func (c *Config) validateHTTP(ps *problems, skip func(string) bool) {
	// CORS origins are compared verbatim with the browser's Origin header,
	// which never carries a path, so anything else would never match.
	if !skip("CORS_ALLOWED_ORIGINS") {
		wildcard := false
		for i, o := range c.CORSAllowedOrigins {
			if o == "*" {
				wildcard = true
				continue
			}
			norm, msg := normalizeOrigin(o)
			if msg != "" {
				ps.add("CORS_ALLOWED_ORIGINS", "%q %s", o, msg)
				continue
			}
			c.CORSAllowedOrigins[i] = norm
		}
		if wildcard && len(c.CORSAllowedOrigins) > 1 {
			ps.add("CORS_ALLOWED_ORIGINS", "mixes \"*\" with explicit origins; \"*\" already allows every origin, so list either \"*\" or the exact origins")
		}
	}

	for i, h := range c.AllowedHosts {
		norm, msg := normalizeAllowedHost(h)
		if msg != "" {
			ps.add("ALLOWED_HOSTS", "%q %s; list host names such as api.example.com or api.example.com:8443", h, msg)
			continue
		}
		c.AllowedHosts[i] = norm
	}

	switch {
	case (c.TLSCertFile == "") != (c.TLSKeyFile == ""):
		name := "TLS_KEY_FILE"
		if c.TLSCertFile == "" {
			name = "TLS_CERT_FILE"
		}
		ps.add(name, "must be set together with %s; set both to serve TLS or neither to serve plain HTTP behind a proxy", otherTLSVar(name))
	case c.TLSEnabled():
		for _, f := range []struct{ name, path string }{{"TLS_CERT_FILE", c.TLSCertFile}, {"TLS_KEY_FILE", c.TLSKeyFile}} {
			if st, err := os.Stat(f.path); err != nil {
				ps.add(f.name, "cannot read %q: %v", f.path, err)
			} else if st.IsDir() {
				ps.add(f.name, "%q is a directory; point it at a PEM file", f.path)
			}
		}
	}
	if c.HTTPRedirectAddr != "" && !c.TLSEnabled() {
		ps.add("HTTP_REDIRECT_ADDR", "only makes sense when the service serves TLS itself; set TLS_CERT_FILE and TLS_KEY_FILE or unset HTTP_REDIRECT_ADDR")
	}
}

func otherTLSVar(name string) string {
	if name == "TLS_CERT_FILE" {
		return "TLS_KEY_FILE"
	}
	return "TLS_CERT_FILE"
}

// normalizeOrigin lowercases scheme and host the way browsers serialise the
// Origin header, and rejects anything that is not scheme://host[:port].
func normalizeOrigin(o string) (string, string) {
	u, err := url.Parse(o)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return "", "is not an origin; use scheme://host[:port], e.g. https://app.example.com"
	}
	if u.User != nil {
		return "", "must not contain user information; use scheme://host[:port]"
	}
	if u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery || strings.HasSuffix(o, "#") {
		return "", "must not have a path, query or trailing slash; browsers send the origin as scheme://host[:port], e.g. https://app.example.com"
	}
	if strings.Contains(u.Host, "*") {
		return "", "contains a wildcard; list every origin explicitly, e.g. https://app.example.com,https://admin.example.com"
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", "has an invalid port"
		}
	}
	if checkHost(u.Hostname()) != "" {
		return "", "has an invalid host name"
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host), ""
}

func normalizeAllowedHost(h string) (string, string) {
	host := h
	if strings.HasPrefix(h, "[") || strings.Count(h, ":") == 1 {
		hh, port, err := net.SplitHostPort(h)
		if err != nil {
			return "", "is not host or host:port"
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", "has an invalid port"
		}
		host = hh
	}
	if msg := checkHost(host); msg != "" {
		return "", msg
	}
	return strings.ToLower(h), ""
}

// checkHost accepts DNS names and IP literals and returns a reason otherwise.
func checkHost(h string) string {
	if h == "" {
		return "has an empty host"
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return ""
	}
	if len(h) > 253 {
		return "is too long for a host name"
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "is not a valid host name"
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return "is not a valid host name"
			}
		}
	}
	return ""
}

func checkListenAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "is not a listen address"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "has an invalid port"
	}
	if host != "" {
		if msg := checkHost(host); msg != "" {
			return msg
		}
	}
	return ""
}

// sameListener reports whether two listen addresses would fight over the same
// socket; an empty or unspecified host binds every interface.
func sameListener(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil {
		return a == b
	}
	if pa != pb || pa == "0" {
		return false
	}
	if isWildcardHost(ha) || isWildcardHost(hb) {
		return true
	}
	return strings.EqualFold(ha, hb)
}

func isWildcardHost(h string) bool {
	if h == "" {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.IsUnspecified()
}

// isLoopbackAddr reports whether a listen address is reachable from this
// host only.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && isLoopbackHost(host)
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

func normalizeBaseURL(raw string) (string, string) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", fmt.Sprintf("%q is not an absolute URL; use e.g. https://app.example.com", raw)
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return "", fmt.Sprintf("%q must use http or https, e.g. https://app.example.com", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", fmt.Sprintf("%q must not contain user information, a query or a fragment; links are built by appending paths to it", raw)
	}
	return strings.TrimRight(raw, "/"), ""
}

func (c *Config) validateUploads(ps *problems, skip func(string) bool) {
	if strings.TrimSpace(c.UploadDir) == "" {
		ps.add("UPLOAD_DIR", "must not be empty")
	}
	if !skip("MAX_UPLOAD_BYTES") && c.MaxUploadBytes <= 0 {
		ps.add("MAX_UPLOAD_BYTES", "must be greater than 0, e.g. 10485760 (10 MiB)")
	}
	if !skip("UPLOAD_QUOTA_BYTES") && c.UploadQuotaBytes <= 0 {
		ps.add("UPLOAD_QUOTA_BYTES", "must be greater than 0, e.g. 104857600 (100 MiB)")
	} else if !skip("UPLOAD_QUOTA_BYTES") && !skip("MAX_UPLOAD_BYTES") && c.MaxUploadBytes > 0 && c.UploadQuotaBytes < c.MaxUploadBytes {
		ps.add("UPLOAD_QUOTA_BYTES", "%d is smaller than MAX_UPLOAD_BYTES %d, so even a single maximum-size upload could never fit; raise it", c.UploadQuotaBytes, c.MaxUploadBytes)
	}
	if !skip("MAX_BODY_BYTES") && c.MaxBodyBytes <= 0 {
		ps.add("MAX_BODY_BYTES", "must be greater than 0, e.g. 1048576 (1 MiB)")
	}
	if cc := c.DownloadCacheControl; strings.TrimSpace(cc) == "" || strings.ContainsAny(cc, "\r\n") || strings.Contains(strings.ToLower(cc), "public") {
		ps.add("DOWNLOAD_CACHE_CONTROL", "must be a Cache-Control value for private content, e.g. \"private, no-store\" or \"private, max-age=300\" (never public: files are per account)")
	}
	for i, t := range c.UploadAllowedTypes {
		mt, params, err := mime.ParseMediaType(t)
		if err != nil || len(params) > 0 || strings.Contains(mt, "*") || !strings.Contains(mt, "/") {
			ps.add("UPLOAD_ALLOWED_TYPES", "%q is not a plain media type; list exact types without parameters or wildcards, e.g. image/png,application/pdf", t)
			continue
		}
		if scriptableTypes[mt] {
			ps.add("UPLOAD_ALLOWED_TYPES", "%q can run script when opened in a browser (stored cross-site scripting) and is never accepted; remove it", t)
			continue
		}
		c.UploadAllowedTypes[i] = mt
	}
}

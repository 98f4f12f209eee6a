package config

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzProdEnv is a valid production configuration, so that a fuzzed value
// is judged on its own rather than drowned in refusals.
var fuzzProdEnv = map[string]string{
	"APP_ENV":              "production",
	"DATABASE_URL":         "postgres://app:pw@db.internal:5432/app?sslmode=verify-full",
	"TRUSTED_PROXIES":      "10.0.0.0/8",
	"JWT_SIGNING_KEY":      "mNo7-QJvX2b2FhL0bM1h9w4V3y8kTz6RrPq5sJcUaEg",
	"CORS_ALLOWED_ORIGINS": "https://app.example.com",
}

// secretIn returns the part of value for variable name that must never be
// shown (in an error or the masked configuration), or "" when there is none
// long enough to tell apart from the messages' own text.
func secretIn(name, value string) string {
	switch name {
	case "JWT_SIGNING_KEY", "FIELD_ENCRYPTION_KEYS", "SMTP_PASSWORD":
		if s := strings.TrimSpace(value); len(s) >= 16 {
			return s
		}
	case "DATABASE_URL", "REDIS_URL":
		u, err := url.Parse(strings.TrimSpace(value))
		if err != nil || u.User == nil {
			return ""
		}
		if p, ok := u.User.Password(); ok && len(p) >= 12 && !strings.Contains(u.Host+u.Path+u.User.Username(), p) {
			return p
		}
	}
	return ""
}

// FuzzLoad sets one variable (chosen by which) to an arbitrary value on top
// of a valid development or production configuration. Load never panics, and
// neither its errors nor the masked configuration ever show a secret: the
// signing key, the field encryption keys, the SMTP password, or a password
// inside DATABASE_URL or REDIS_URL.
func FuzzLoad(f *testing.F) {
	for _, s := range []struct {
		which      uint8
		value      string
		production bool
	}{
		{0, "staging", false},
		{varIndex("JWT_SIGNING_KEY"), "not-a-key-but-long-enough-to-leak", true},
		{varIndex("JWT_SIGNING_KEY"), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", true},
		{varIndex("FIELD_ENCRYPTION_KEYS"), "k1:c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlYw,k1:x", false},
		{varIndex("DATABASE_URL"), "postgres://app:hunter2hunter2@db:5432/app?sslmode=disable", true},
		{varIndex("DATABASE_URL"), "postgres://app:p%zzassword12345@db/app", true},
		{varIndex("REDIS_URL"), "redis://:very-secret-pass@redis:6379/0", false},
		{varIndex("SMTP_PASSWORD"), "  spaces around a secret  ", false},
		{varIndex("TRUSTED_PROXIES"), "10.0.0.0/8, fe80::1%eth0, 999.1.1.1", true},
		{varIndex("CORS_ALLOWED_ORIGINS"), "*", true},
		{varIndex("ACCESS_TOKEN_TTL"), "-1h", false},
		{varIndex("MAX_UPLOAD_BYTES"), "99999999999999999999", false},
	} {
		f.Add(s.which, s.value, s.production)
	}
	names := Vars()
	f.Fuzz(func(t *testing.T, which uint8, value string, production bool) {
		env := map[string]string{}
		if production {
			for k, v := range fuzzProdEnv {
				env[k] = v
			}
		}
		name := names[int(which)%len(names)]
		env[name] = value
		c, err := Load(lookupMap(env), "")
		secret := secretIn(name, value)
		if err != nil {
			if c != nil {
				t.Fatalf("Load(%s=%q) returned a configuration and an error", name, value)
			}
			if secret != "" && strings.Contains(err.Error(), secret) {
				t.Fatalf("Load(%s=%q): the error shows the secret:\n%v", name, value, err)
			}
			return
		}
		if secret != "" && strings.Contains(c.String(), secret) {
			t.Fatalf("Load(%s=%q): the masked configuration shows the secret:\n%s", name, value, c)
		}
	})
}

// FuzzDotenv reads an arbitrary .env file with an SMTP password in it: no
// panic, and the password never appears in an error or the masked
// configuration (the parser's own messages quote file content).
func FuzzDotenv(f *testing.F) {
	f.Add("LOG_LEVEL=debug\n", "correct-horse-battery-staple")
	f.Add("A='unterminated\n", "correct-horse-battery-staple")
	f.Add("export X=1\n#comment\nY=\"a\\nb\"\n", "p@ss w0rd with spaces!!")
	f.Add("APP_ENV=production\n", "another-secret-value-000")
	f.Add("=\n==\n\"", "q'uot\"ed-secret-value-xx")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content, password string) {
		path := filepath.Join(dir, "fuzz.env")
		body := content + "\nSMTP_PASSWORD=" + password + "\n"
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(lookupMap(map[string]string{}), path)
		secret := secretIn("SMTP_PASSWORD", password)
		if secret == "" || strings.Contains(content, secret) {
			return
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Fatalf(".env %q: the error shows the password:\n%v", body, err)
		}
		if err == nil && strings.Contains(c.String(), secret) {
			t.Fatalf(".env %q: the masked configuration shows the password", body)
		}
	})
}

func varIndex(name string) uint8 {
	for i, v := range Vars() {
		if v == name {
			return uint8(i)
		}
	}
	return 0
}

// The production base of FuzzLoad must itself load, or every production
// input would only exercise the refusals.
func TestFuzzProdEnvLoads(t *testing.T) {
	if _, err := Load(lookupMap(fuzzProdEnv), ""); err != nil {
		t.Fatalf("fuzzProdEnv does not load:\n%v", err)
	}
}

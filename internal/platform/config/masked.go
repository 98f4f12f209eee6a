package config

import (
	"crypto/ed25519"
	"encoding/base64"
	"log/slog"
	"net/netip"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
)

const (
	maskSet  = "***set***"
	maskPart = "***"
)

// Masked returns the effective configuration as "NAME=value" lines in a fixed
// order, safe to print at start-up or share for troubleshooting: passwords
// inside DATABASE_URL and REDIS_URL become ***, and JWT_SIGNING_KEY,
// FIELD_ENCRYPTION_KEYS and SMTP_PASSWORD become ***set*** (or stay empty
// when unset).
func (c *Config) Masked() []string {
	v := reflect.ValueOf(c).Elem()
	out := make([]string, 0, len(fields))
	for _, f := range fields {
		var val string
		switch f.key {
		case "DATABASE_URL", "REDIS_URL":
			val = maskURL(v.Field(f.index).String())
		case "JWT_SIGNING_KEY", "SMTP_PASSWORD":
			val = maskPresence(v.Field(f.index).String() != "")
		case "FIELD_ENCRYPTION_KEYS":
			val = maskPresence(len(c.FieldEncryptionKeys) > 0)
		default:
			val = formatValue(v.Field(f.index))
		}
		out = append(out, f.key+"="+val)
	}
	return out
}

// String returns the masked configuration so that printing a Config with
// %v or %s cannot leak secrets.
func (c Config) String() string { return strings.Join(c.Masked(), "\n") }

// GoString keeps %#v from dumping secrets as well.
func (c Config) GoString() string { return "config.Config{" + strings.Join(c.Masked(), ", ") + "}" }

// LogValue makes slog log the masked configuration instead of the raw struct.
func (c Config) LogValue() slog.Value {
	lines := c.Masked()
	attrs := make([]slog.Attr, 0, len(lines))
	for _, l := range lines {
		k, v, _ := strings.Cut(l, "=")
		attrs = append(attrs, slog.String(k, v))
	}
	return slog.GroupValue(attrs...)
}

func maskPresence(set bool) string {
	if set {
		return maskSet
	}
	return ""
}

// maskURL replaces the password in the user information and in any query
// parameter whose name mentions a password (PostgreSQL accepts
// ?password=... and ?sslpassword=...).
func maskURL(raw string) string {
	if raw == "" {
		return ""
	}
	if d, _ := databaseForm(raw); d == DriverSQLite {
		// A SQLite path carries no credentials, but options might (for
		// example an encryption key pragma), so they are hidden.
		if path, _, hasQuery := strings.Cut(raw, "?"); hasQuery {
			return path + "?" + maskPart
		}
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil || !strings.Contains(raw, "://") {
		// Without a recognisable URL structure the secret parts cannot be
		// located, so nothing is shown.
		return maskSet
	}
	var userinfo string
	if u.User != nil {
		userinfo = u.User.String()
		if _, has := u.User.Password(); has {
			userinfo = url.User(u.User.Username()).String() + ":" + maskPart
		}
		userinfo += "@"
	}
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, p := range parts {
			k, _, _ := strings.Cut(p, "=")
			name, err := url.QueryUnescape(k)
			if err != nil {
				name = k
			}
			if strings.Contains(strings.ToLower(name), "password") {
				parts[i] = k + "=" + maskPart
			}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	u.User = nil
	rest := strings.TrimPrefix(u.String(), u.Scheme+"://")
	return u.Scheme + "://" + userinfo + rest
}

var (
	typeDuration   = reflect.TypeFor[time.Duration]()
	typePrefixes   = reflect.TypeFor[[]netip.Prefix]()
	typePublicKeys = reflect.TypeFor[[]ed25519.PublicKey]()
)

func formatValue(v reflect.Value) string {
	switch v.Type() {
	case typeDuration:
		return time.Duration(v.Int()).String()
	case typePrefixes:
		ps := v.Interface().([]netip.Prefix)
		s := make([]string, len(ps))
		for i, p := range ps {
			s[i] = p.String()
		}
		return strings.Join(s, ",")
	case typePublicKeys:
		ks := v.Interface().([]ed25519.PublicKey)
		s := make([]string, len(ks))
		for i, k := range ks {
			s[i] = base64.RawURLEncoding.EncodeToString(k)
		}
		return strings.Join(s, ",")
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.String {
			return strings.Join(v.Interface().([]string), ",")
		}
	}
	// Unknown types are hidden rather than risk printing secret bytes.
	return maskSet
}

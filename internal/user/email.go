package user

import (
	"errors"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Email is an address in its stored form: trimmed, lower case, a bare
// RFC 5322 addr-spec of at most 254 bytes. ParseEmail is the only way the
// service turns outside text into one, for the API and the command line alike.
type Email string

// Username is a username in its stored form: 3..32 lower-case letters,
// digits, '_', '.' or '-'.
type Username string

var (
	errEmail    = errors.New("must be a valid email address")
	errUsername = errors.New("must be 3 to 32 letters, digits, '_', '.' or '-'")
	usernameRE  = regexp.MustCompile(`^[a-z0-9_.-]{3,32}$`)
)

// NormalizeEmail is the lookup form of an address (login, password reset):
// the same folding ParseEmail applies, without judging the address.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ParseEmail checks and normalizes an email address. The error message is
// client-safe and never repeats the input.
func ParseEmail(s string) (Email, error) {
	if !utf8.ValidString(s) { // checked first: lower-casing replaces bad bytes
		return "", errEmail
	}
	e := NormalizeEmail(s)
	if e == "" || len(e) > 254 || strings.ContainsFunc(e, isControl) {
		return "", errEmail
	}
	// A bare address only: no display name, no angle brackets, no comments.
	a, err := mail.ParseAddress(e)
	if err != nil || a.Name != "" || a.Address != e {
		return "", errEmail
	}
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" || domain == "" || strings.HasPrefix(domain, "[") || !strings.Contains(domain, ".") && domain != "localhost" {
		return "", errEmail
	}
	return Email(e), nil
}

// ParseUsername checks and normalizes a username.
func ParseUsername(s string) (Username, error) {
	u := strings.ToLower(strings.TrimSpace(s))
	if !utf8.ValidString(s) || !usernameRE.MatchString(u) {
		return "", errUsername
	}
	return Username(u), nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

package user_test

import (
	"testing"

	"secureapi/internal/user"
)

func TestParseEmail(t *testing.T) {
	for in, want := range map[string]user.Email{
		"Alice@Example.com":     "alice@example.com",
		"  bob.b+tag@mail.org ": "bob.b+tag@mail.org",
		"root@localhost":        "root@localhost",
	} {
		if got, err := user.ParseEmail(in); err != nil || got != want {
			t.Errorf("ParseEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "alice", "@example.com", "alice@", "Alice <alice@example.com>", "a@b@example.com",
		"al ice@example.com", "alice@example.com\x00", "al\nice@example.com", "alice@[127.0.0.1]",
		"alice@example", "\xffalice@example.com", string(make([]byte, 250)) + "@example.com",
	} {
		if got, err := user.ParseEmail(in); err == nil {
			t.Errorf("ParseEmail(%q) = %q, want an error", in, got)
		}
	}
}

func TestParseUsername(t *testing.T) {
	if got, err := user.ParseUsername(" Alice_L "); err != nil || got != "alice_l" {
		t.Errorf("ParseUsername = %q, %v", got, err)
	}
	for _, in := range []string{"al", "alice!", "a\x00bc", "ålice", string(make([]byte, 33))} {
		if _, err := user.ParseUsername(in); err == nil {
			t.Errorf("ParseUsername(%q) accepted", in)
		}
	}
}

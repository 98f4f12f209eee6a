package pat

import (
	"strings"
	"testing"
)

func TestGeneratedTokensHaveTheFormAndAValidChecksum(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		tok, err := generate()
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != TokenLen || !strings.HasPrefix(tok, "sapat_") || !Valid(tok) || seen[tok] {
			t.Fatalf("token %q", tok)
		}
		seen[tok] = true
	}
}

func TestValidRefusesTyposWithoutADatabase(t *testing.T) {
	tok, _ := generate()
	flip := func(i int) string {
		b := []byte(tok)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	for name, s := range map[string]string{
		"one character of the random part changed": flip(len(Prefix) + 3),
		"one character of the checksum changed":    flip(len(tok) - 1),
		"truncated":                                tok[:len(tok)-1],
		"extended":                                 tok + "a",
		"other prefix":                             "ghp_" + tok[len(Prefix):],
		"not base62":                               tok[:10] + "-" + tok[11:],
		"empty":                                    "",
		"a JWT":                                    "eyJhbGciOiJFZERTQSJ9.e30.sig",
	} {
		if Valid(s) {
			t.Errorf("%s: %q accepted", name, s)
		}
	}
	if !LooksLike(flip(len(Prefix)+3)) || LooksLike("eyJhbGciOiJFZERTQSJ9.e30.sig") {
		t.Error("LooksLike goes by the prefix")
	}
}

func FuzzValid(f *testing.F) {
	tok, _ := generate()
	f.Add(tok)
	f.Add("sapat_")
	f.Fuzz(func(t *testing.T, s string) {
		if Valid(s) && (len(s) != TokenLen || !strings.HasPrefix(s, Prefix)) {
			t.Fatalf("accepted %q", s)
		}
	})
}

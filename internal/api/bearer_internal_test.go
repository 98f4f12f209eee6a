package api

import (
	"net/http"
	"regexp"
	"testing"
)

// bearerSyntax is the rule bearerToken implements by hand.
var bearerSyntax = regexp.MustCompile(`^[Bb]earer ([A-Za-z0-9._~+/=-]+)$`)

func checkBearer(t *testing.T, header string) {
	t.Helper()
	r := &http.Request{Header: http.Header{"Authorization": {header}}}
	got, ok := bearerToken(r)
	m := bearerSyntax.FindStringSubmatch(header)
	if ok != (m != nil) || ok && got != m[1] {
		t.Fatalf("bearerToken(%q) = %q, %v; the rule says %q", header, got, ok, m)
	}
}

func TestBearerToken(t *testing.T) {
	for _, h := range []string{
		"", "Bearer", "Bearer ", "bearer x", "Bearer abc.DEF-123_~+/=", "BEARER x", "Bearer  x", "Bearer x ",
		"Bearer x\n", "Basic abc", "Bearer é", "Bearer x\xff", "xBearer y", "Bearerx", "Token x",
	} {
		checkBearer(t, h)
	}
}

func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer a.b.c", "Bearer a b", "Bearer \x00"} {
		f.Add(s)
	}
	f.Fuzz(checkBearer)
}

package token

import (
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// fuzzKey is fixed so that every fuzzing worker process signs and verifies
// with the same key (each worker runs this file's setup on its own).
var fuzzKey = ed25519.NewKeyFromSeed([]byte("torture-fuzz-key-0123456789abcde"))

// FuzzCheckHeader: a header passes the screening only when it is exactly
// what the service writes: a compact JWS whose strict base64url header is a
// JSON object of alg EdDSA, typ JWT and a kid, and nothing else.
func FuzzCheckHeader(f *testing.F) {
	for _, h := range []string{
		`{"alg":"EdDSA","kid":"k1","typ":"JWT"}`, `{"alg":"none","kid":"k1","typ":"JWT"}`,
		`{"alg":"EdDSA","kid":"k1","typ":"JWT","jku":"https://evil.test"}`, `{"alg":"HS256","kid":"k1","typ":"JWT"}`,
		`{"alg":"EdDSA","alg":"none","kid":"k1","typ":"JWT"}`, `{"alg":"EdDSA","kid":"","typ":"JWT"}`, `[]`, `null`,
	} {
		f.Add(b64.EncodeToString([]byte(h)) + ".e30.sig")
	}
	f.Add("a.b")
	f.Add("..")
	f.Fuzz(func(t *testing.T, tok string) {
		kid, reason := checkHeader(tok)
		if reason != "" {
			if kid != "" {
				t.Fatalf("checkHeader(%q) refused (%s) but returned kid %q", tok, reason, kid)
			}
			return
		}
		if strings.Count(tok, ".") != 2 {
			t.Fatalf("checkHeader(%q) accepted a token without three parts", tok)
		}
		seg, _, _ := strings.Cut(tok, ".")
		raw, err := b64.Strict().DecodeString(seg)
		if err != nil {
			t.Fatalf("checkHeader(%q) accepted a header that is not strict base64url", tok)
		}
		var hdr map[string]any
		if err := json.Unmarshal(raw, &hdr); err != nil {
			t.Fatalf("checkHeader(%q) accepted a header that is not a JSON object", tok)
		}
		for k := range hdr {
			if k != "alg" && k != "kid" && k != "typ" {
				t.Fatalf("checkHeader(%q) accepted header member %q", tok, k)
			}
		}
		if hdr["alg"] != "EdDSA" || hdr["typ"] != "JWT" || hdr["kid"] != kid || kid == "" {
			t.Fatalf("checkHeader(%q) accepted header %s (kid %q)", tok, raw, kid)
		}
	})
}

// FuzzVerify: Verify accepts a token only when its exact signing input
// carries a valid Ed25519 signature by the ring's key, every segment is in
// canonical base64url (no other spelling of an accepted token is accepted
// too), and its claims are complete. Nothing panics.
func FuzzVerify(f *testing.F) {
	ring, err := NewKeyRing(fuzzKey, nil)
	if err != nil {
		f.Fatal(err)
	}
	is := NewIssuer(testCfg, ring, func() time.Time { return testNow })
	tok, _, err := is.Issue("user-1", "session-1")
	if err != nil {
		f.Fatal(err)
	}
	h, p, s := jwtSegments(tok)
	f.Add(tok)
	f.Add(h + "." + p + "." + s + "=")
	f.Add(h + "." + p + "=." + s)
	f.Add(h + "." + p + ".")
	f.Add(strings.ToUpper(tok))
	f.Add(tok + tok)
	f.Add(h + "." + mustJSON(f, validClaims(testNow)) + "." + s)
	f.Add(signEd(f, fuzzKey, map[string]any{"alg": "EdDSA", "typ": "JWT", "kid": ring.SigningKeyID()}, with(validClaims(testNow), "sid", 7)))
	f.Fuzz(func(t *testing.T, in string) {
		c, err := is.Verify(in)
		if err != nil {
			return
		}
		h, p, s := jwtSegments(in)
		for _, seg := range []string{h, p, s} {
			raw, err := b64.Strict().DecodeString(seg)
			if err != nil || b64.EncodeToString(raw) != seg {
				t.Fatalf("Verify accepted %q with a segment %q that is not canonical base64url", in, seg)
			}
		}
		sig, _ := b64.DecodeString(s)
		if !ed25519.Verify(fuzzKey.Public().(ed25519.PublicKey), []byte(h+"."+p), sig) {
			t.Fatalf("Verify accepted %q without a valid signature over its signing input", in)
		}
		if c.Subject == "" || c.SessionID == "" || c.ID == "" || c.Expires.IsZero() {
			t.Fatalf("Verify accepted %q with incomplete claims %+v", in, c)
		}
	})
}

func jwtSegments(tok string) (h, p, s string) {
	parts := strings.SplitN(tok, ".", 3)
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	return parts[0], parts[1], parts[2]
}

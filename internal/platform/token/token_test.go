package token

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

var b64 = base64.RawURLEncoding

var testNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

var testCfg = Config{Issuer: "https://api.example.test", Audience: "secureapi", TTL: 15 * time.Minute}

func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

// thumbprint computes the RFC 7638 kid independently of the code under test.
func thumbprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + b64.EncodeToString(pub) + `"}`))
	return b64.EncodeToString(sum[:])
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64.EncodeToString(b)
}

// signEd builds a compact JWS by hand so tests control every header byte.
func signEd(t testing.TB, key ed25519.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	input := mustJSON(t, header) + "." + mustJSON(t, claims)
	return input + "." + b64.EncodeToString(ed25519.Sign(key, []byte(input)))
}

func validClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss": testCfg.Issuer,
		"aud": []string{testCfg.Audience},
		"sub": "user-1",
		"sid": "session-1",
		"jti": "0190f0e0-0000-7000-8000-000000000001",
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(time.Minute).Unix(),
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(out, k)
		} else {
			out[k] = kv[i+1]
		}
	}
	return out
}

func newIssuer(t testing.TB, now time.Time) (*Issuer, *KeyRing, ed25519.PrivateKey) {
	t.Helper()
	priv := newKey(t)
	ring, err := NewKeyRing(priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	return NewIssuer(testCfg, ring, func() time.Time { return now }), ring, priv
}

func decodeSegment(t *testing.T, seg string) map[string]any {
	t.Helper()
	raw, err := b64.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestIssueVerifyRoundTrip(t *testing.T) {
	iss, ring, priv := newIssuer(t, testNow)
	tok, c, err := iss.Issue("user-42", "sess-7")
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}

	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	kid := thumbprint(priv.Public().(ed25519.PublicKey))
	if ring.SigningKeyID() != kid {
		t.Fatalf("SigningKeyID = %q, want %q", ring.SigningKeyID(), kid)
	}
	hdr := decodeSegment(t, parts[0])
	if len(hdr) != 3 || hdr["alg"] != "EdDSA" || hdr["typ"] != "JWT" || hdr["kid"] != kid {
		t.Fatalf("header = %v", hdr)
	}
	claims := decodeSegment(t, parts[1])
	for _, name := range []string{"iss", "aud", "sub", "sid", "iat", "nbf", "exp", "jti"} {
		if _, ok := claims[name]; !ok {
			t.Errorf("claim %q missing from %v", name, claims)
		}
	}
	if claims["sid"] != "sess-7" || claims["sub"] != "user-42" || claims["iss"] != testCfg.Issuer {
		t.Errorf("claims = %v", claims)
	}

	want := Claims{
		Subject:   "user-42",
		SessionID: "sess-7",
		ID:        c.ID,
		IssuedAt:  testNow,
		Expires:   testNow.Add(testCfg.TTL),
	}
	if c != want {
		t.Fatalf("Issue claims = %+v, want %+v", c, want)
	}
	if len(c.ID) != 36 || c.ID[14] != '7' {
		t.Fatalf("jti %q is not a UUIDv7", c.ID)
	}

	got, err := iss.Verify(tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.Subject != want.Subject || got.SessionID != want.SessionID || got.ID != want.ID ||
		!got.IssuedAt.Equal(want.IssuedAt) || !got.Expires.Equal(want.Expires) {
		t.Fatalf("Verify claims = %+v, want %+v", got, want)
	}

	// Inside the leeway after exp the token is still accepted.
	late := NewIssuer(testCfg, ring, func() time.Time { return testNow.Add(testCfg.TTL + 20*time.Second) })
	if _, err := late.Verify(tok); err != nil {
		t.Fatalf("Verify within leeway: %v", err)
	}

	// Two tokens never share a jti.
	tok2, c2, err := iss.Issue("user-42", "sess-7")
	if err != nil || tok2 == tok || c2.ID == c.ID {
		t.Fatalf("second Issue: %v, same id %v", err, c2.ID == c.ID)
	}
}

func TestIssueRequiresIDs(t *testing.T) {
	iss, _, _ := newIssuer(t, testNow)
	if _, _, err := iss.Issue("", "s"); err == nil {
		t.Fatal("Issue accepted an empty user id")
	}
	if _, _, err := iss.Issue("u", ""); err == nil {
		t.Fatal("Issue accepted an empty session id")
	}
}

func TestVerifyRejectsForgeries(t *testing.T) {
	iss, ring, priv := newIssuer(t, testNow)
	pub := priv.Public().(ed25519.PublicKey)
	kid := ring.SigningKeyID()
	hdr := map[string]any{"alg": "EdDSA", "kid": kid, "typ": "JWT"}
	claims := validClaims(testNow)

	good := signEd(t, priv, hdr, claims)
	if _, err := iss.Verify(good); err != nil {
		t.Fatalf("hand-built valid token rejected: %v", err)
	}
	parts := strings.Split(good, ".")

	attacker := newKey(t)
	attackerPub := attacker.Public().(ed25519.PublicKey)

	hs256 := func(secret []byte) string {
		input := mustJSON(t, map[string]any{"alg": "HS256", "kid": kid, "typ": "JWT"}) + "." + mustJSON(t, claims)
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(input))
		return input + "." + b64.EncodeToString(mac.Sum(nil))
	}
	embeddedJWK := map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64.EncodeToString(attackerPub)}

	issued, _, err := iss.Issue("user-1", "session-1")
	if err != nil {
		t.Fatal(err)
	}
	expiredIssuer := NewIssuer(testCfg, ring, func() time.Time { return testNow.Add(testCfg.TTL + 31*time.Second) })
	otherIssuer := NewIssuer(Config{Issuer: "https://evil.test", Audience: testCfg.Audience}, ring, func() time.Time { return testNow })
	wrongIss, _, err := otherIssuer.Issue("user-1", "session-1")
	if err != nil {
		t.Fatal(err)
	}
	otherAudIssuer := NewIssuer(Config{Issuer: testCfg.Issuer, Audience: "another-api"}, ring, func() time.Time { return testNow })
	wrongAud, _, err := otherAudIssuer.Issue("user-1", "session-1")
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		token    string
		verifier *Issuer
	}{
		{"alg none", mustJSON(t, map[string]any{"alg": "none", "typ": "JWT"}) + "." + parts[1] + ".", iss},
		{"alg none with kid", mustJSON(t, map[string]any{"alg": "none", "kid": kid, "typ": "JWT"}) + "." + parts[1] + ".", iss},
		{"alg None", mustJSON(t, map[string]any{"alg": "None", "kid": kid, "typ": "JWT"}) + "." + parts[1] + ".", iss},
		{"stripped signature", parts[0] + "." + parts[1] + ".", iss},
		{"stripped signature no dot", parts[0] + "." + parts[1], iss},
		{"HS256 with public key bytes", hs256(pub), iss},
		{"HS256 with public key base64", hs256([]byte(b64.EncodeToString(pub))), iss},
		{"alg Ed25519 instead of EdDSA", signEd(t, priv, with(hdr, "alg", "Ed25519"), claims), iss},
		{"missing alg", signEd(t, priv, with(hdr, "alg", nil), claims), iss},
		{"wrong iss", wrongIss, iss},
		{"wrong iss hand-built", signEd(t, priv, hdr, with(claims, "iss", "https://evil.test")), iss},
		{"missing iss", signEd(t, priv, hdr, with(claims, "iss", nil)), iss},
		{"wrong aud", wrongAud, iss},
		{"missing aud", signEd(t, priv, hdr, with(claims, "aud", nil)), iss},
		{"expired beyond leeway", issued, expiredIssuer},
		{"expired hand-built", signEd(t, priv, hdr, with(claims, "iat", testNow.Add(-time.Hour).Unix(), "nbf", testNow.Add(-time.Hour).Unix(), "exp", testNow.Add(-31*time.Second).Unix())), iss},
		{"missing exp", signEd(t, priv, hdr, with(claims, "exp", nil)), iss},
		{"nbf in the future", signEd(t, priv, hdr, with(claims, "nbf", testNow.Add(time.Hour).Unix(), "exp", testNow.Add(2*time.Hour).Unix())), iss},
		{"iat in the future", signEd(t, priv, hdr, with(claims, "iat", testNow.Add(time.Hour).Unix())), iss},
		{"tampered payload", parts[0] + "." + mustJSON(t, with(claims, "sub", "admin")) + "." + parts[2], iss},
		{"unknown kid", signEd(t, priv, with(hdr, "kid", "no-such-key"), claims), iss},
		{"missing kid", signEd(t, priv, with(hdr, "kid", nil), claims), iss},
		{"numeric kid", signEd(t, priv, with(hdr, "kid", 1), claims), iss},
		{"other key with ring kid", signEd(t, attacker, hdr, claims), iss},
		{"embedded jwk", signEd(t, attacker, with(hdr, "jwk", embeddedJWK), claims), iss},
		{"embedded jwk with its own kid", signEd(t, attacker, with(hdr, "jwk", embeddedJWK, "kid", thumbprint(attackerPub)), claims), iss},
		{"jku header", signEd(t, priv, with(hdr, "jku", "https://evil.test/jwks.json"), claims), iss},
		{"x5u header", signEd(t, priv, with(hdr, "x5u", "https://evil.test/cert.pem"), claims), iss},
		{"x5c header", signEd(t, priv, with(hdr, "x5c", []string{"MIIB"}), claims), iss},
		{"crit header", signEd(t, priv, with(hdr, "crit", []string{"exp"}, "exp", 1), claims), iss},
		{"b64 false", signEd(t, priv, with(hdr, "b64", false, "crit", []string{"b64"}), claims), iss},
		{"wrong typ", signEd(t, priv, with(hdr, "typ", "at+jwt"), claims), iss},
		{"missing sid", signEd(t, priv, hdr, with(claims, "sid", nil)), iss},
		{"empty sid", signEd(t, priv, hdr, with(claims, "sid", "")), iss},
		{"numeric sid", signEd(t, priv, hdr, with(claims, "sid", 7)), iss},
		{"missing sub", signEd(t, priv, hdr, with(claims, "sub", nil)), iss},
		{"missing jti", signEd(t, priv, hdr, with(claims, "jti", nil)), iss},
		{"missing iat", signEd(t, priv, hdr, with(claims, "iat", nil)), iss},
		{"empty", "", iss},
		{"garbage", "not.a.token", iss},
		{"four parts", good + ".x", iss},
		{"JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, iss},
		{"padded header", parts[0] + "=." + parts[1] + "." + parts[2], iss},
		{"oversized", parts[0] + "." + strings.Repeat("A", maxTokenBytes) + "." + parts[2], iss},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.verifier.Verify(tt.token)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Verify = %+v, %v; want ErrInvalid", c, err)
			}
			t.Logf("%v", err)
			if c != (Claims{}) {
				t.Fatalf("Verify returned claims %+v alongside an error", c)
			}
			if msg := err.Error(); strings.Contains(msg, "jwt.") || strings.Contains(msg, "jws.") || strings.Contains(msg, "evil") {
				t.Fatalf("error leaks library or token text: %q", msg)
			}
		})
	}
}

// TestParseRejectsWithoutHeaderScreening checks that signature verification
// alone, without checkHeader, still refuses algorithm confusion and foreign
// keys.
func TestParseRejectsWithoutHeaderScreening(t *testing.T) {
	iss, ring, priv := newIssuer(t, testNow)
	pub := priv.Public().(ed25519.PublicKey)
	kid := ring.SigningKeyID()
	claims := validClaims(testNow)
	attacker := newKey(t)
	attackerPub := attacker.Public().(ed25519.PublicKey)

	hs256 := func(secret []byte) string {
		input := mustJSON(t, map[string]any{"alg": "HS256", "kid": kid, "typ": "JWT"}) + "." + mustJSON(t, claims)
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(input))
		return input + "." + b64.EncodeToString(mac.Sum(nil))
	}
	payload := mustJSON(t, claims)
	for name, tok := range map[string]string{
		"alg none":     mustJSON(t, map[string]any{"alg": "none", "kid": kid}) + "." + payload + ".",
		"HS256":        hs256(pub),
		"HS256 base64": hs256([]byte(b64.EncodeToString(pub))),
		"other key":    signEd(t, attacker, map[string]any{"alg": "EdDSA", "kid": kid, "typ": "JWT"}, claims),
		"embedded jwk": signEd(t, attacker, map[string]any{"alg": "EdDSA", "kid": kid, "jwk": map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64.EncodeToString(attackerPub)}}, claims),
		"jku":          signEd(t, attacker, map[string]any{"alg": "EdDSA", "kid": kid, "jku": "https://127.0.0.1:1/jwks.json"}, claims),
		"no signature": signEd(t, priv, map[string]any{"alg": "EdDSA", "kid": kid}, claims)[:len(mustJSON(t, map[string]any{"alg": "EdDSA", "kid": kid}))+1+len(payload)+1],
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := iss.parse(tok, pub); !errors.Is(err, ErrInvalid) {
				t.Fatalf("parse: err = %v, want ErrInvalid", err)
			}
		})
	}
	if _, err := iss.parse(signEd(t, priv, map[string]any{"alg": "EdDSA", "kid": kid, "typ": "JWT"}, claims), pub); err != nil {
		t.Fatalf("control token rejected: %v", err)
	}
}

func TestRotation(t *testing.T) {
	oldPriv, newPriv := newKey(t), newKey(t)
	oldPub := oldPriv.Public().(ed25519.PublicKey)
	ring, err := NewKeyRing(oldPriv, nil)
	if err != nil {
		t.Fatal(err)
	}
	iss := NewIssuer(testCfg, ring, func() time.Time { return testNow })
	oldTok, _, err := iss.Issue("u", "s")
	if err != nil {
		t.Fatal(err)
	}

	if err := ring.Replace(newPriv, []ed25519.PublicKey{oldPub}); err != nil {
		t.Fatalf("Replace: %v", err)
	}
	if _, err := iss.Verify(oldTok); err != nil {
		t.Fatalf("token of the previous key rejected while that key is listed: %v", err)
	}
	newTok, _, err := iss.Issue("u", "s")
	if err != nil {
		t.Fatal(err)
	}
	if kid := decodeSegment(t, strings.Split(newTok, ".")[0])["kid"]; kid != thumbprint(newPriv.Public().(ed25519.PublicKey)) {
		t.Fatalf("new token signed with kid %v", kid)
	}

	jwks, err := ring.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatalf("JWKS is not JSON: %v\n%s", err, jwks)
	}
	if len(set.Keys) != 2 {
		t.Fatalf("JWKS has %d keys, want 2: %s", len(set.Keys), jwks)
	}
	wantKids := []string{thumbprint(newPriv.Public().(ed25519.PublicKey)), thumbprint(oldPub)}
	for i, k := range set.Keys {
		if k["kid"] != wantKids[i] || k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["alg"] != "EdDSA" || k["use"] != "sig" || k["x"] == nil {
			t.Errorf("JWKS key %d = %v", i, k)
		}
		if _, ok := k["d"]; ok {
			t.Errorf("JWKS key %d exposes private member d", i)
		}
	}

	if err := ring.Replace(newPriv, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Verify(oldTok); !errors.Is(err, ErrInvalid) {
		t.Fatalf("token of a dropped key: err = %v, want ErrInvalid", err)
	}
	if _, err := iss.Verify(newTok); err != nil {
		t.Fatalf("current token rejected: %v", err)
	}

	// A failed Replace leaves the ring as it was.
	if err := ring.Replace(ed25519.PrivateKey("short"), nil); err == nil {
		t.Fatal("Replace accepted a malformed key")
	}
	if err := ring.Replace(newPriv, []ed25519.PublicKey{ed25519.PublicKey("short")}); err == nil {
		t.Fatal("Replace accepted a malformed verification key")
	}
	if _, err := iss.Verify(newTok); err != nil {
		t.Fatalf("ring changed by a failed Replace: %v", err)
	}
}

func TestKeyIDMatchesRFC8037Example(t *testing.T) {
	// RFC 8037 appendix A.1-A.3.
	seed, _ := b64.DecodeString("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
	ring, err := NewKeyRing(ed25519.NewKeyFromSeed(seed), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ring.SigningKeyID(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"; got != want {
		t.Fatalf("kid = %q, want %q", got, want)
	}
	jwks, _ := ring.JWKS()
	if !strings.Contains(string(jwks), `"x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"`) {
		t.Fatalf("JWKS = %s", jwks)
	}
}

func TestKeyRingDeduplicatesAndCopies(t *testing.T) {
	priv, other := newKey(t), newKey(t)
	otherPub := append(ed25519.PublicKey(nil), other.Public().(ed25519.PublicKey)...)
	ring, err := NewKeyRing(priv, []ed25519.PublicKey{priv.Public().(ed25519.PublicKey), otherPub, otherPub})
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := ring.JWKS()
	var set struct{ Keys []json.RawMessage }
	_ = json.Unmarshal(jwks, &set)
	if len(set.Keys) != 2 {
		t.Fatalf("JWKS has %d keys, want 2", len(set.Keys))
	}
	otherPub[0] ^= 0xff // the caller's slice must not reach into the ring
	if _, ok := ring.load().verify[thumbprint(other.Public().(ed25519.PublicKey))]; !ok {
		t.Fatal("verification key missing")
	}
	if !ring.load().verify[thumbprint(other.Public().(ed25519.PublicKey))].Equal(other.Public()) {
		t.Fatal("ring shares the caller's key slice")
	}
}

func TestConcurrentReplaceAndVerify(t *testing.T) {
	a, b := newKey(t), newKey(t)
	ring, err := NewKeyRing(a, []ed25519.PublicKey{b.Public().(ed25519.PublicKey)})
	if err != nil {
		t.Fatal(err)
	}
	iss := NewIssuer(testCfg, ring, func() time.Time { return testNow })
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	wg.Go(func() {
		for i := range 50 {
			signing, verify := a, b
			if i%2 == 1 {
				signing, verify = b, a
			}
			if err := ring.Replace(signing, []ed25519.PublicKey{verify.Public().(ed25519.PublicKey)}); err != nil {
				errs <- err
				return
			}
		}
	})
	for range 2 {
		wg.Go(func() {
			for range 25 {
				tok, _, err := iss.Issue("u", "s")
				if err == nil {
					_, err = iss.Verify(tok)
				}
				if err == nil {
					_, err = ring.JWKS()
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestConfigDefaults(t *testing.T) {
	ring, err := NewKeyRing(newKey(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	iss := NewIssuer(Config{Issuer: "i", Audience: "a"}, ring, nil)
	if iss.cfg.Leeway != DefaultLeeway || iss.cfg.TTL != DefaultTTL {
		t.Fatalf("cfg = %+v", iss.cfg)
	}
	tok, c, err := iss.Issue("u", "s")
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(c.Expires); d < DefaultTTL-time.Minute || d > DefaultTTL {
		t.Fatalf("expires in %v", d)
	}
	if _, err := iss.Verify(tok); err != nil {
		t.Fatalf("Verify with time.Now: %v", err)
	}

	strict := NewIssuer(Config{Issuer: "i", Audience: "a", TTL: time.Minute, Leeway: -1}, ring, func() time.Time { return testNow })
	tok, _, err = strict.Issue("u", "s")
	if err != nil {
		t.Fatal(err)
	}
	late := NewIssuer(Config{Issuer: "i", Audience: "a", Leeway: -1}, ring, func() time.Time { return testNow.Add(time.Minute + time.Second) })
	if _, err := late.Verify(tok); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative leeway still tolerated skew: %v", err)
	}
}

func BenchmarkVerify(b *testing.B) {
	iss, _, _ := newIssuer(b, time.Now())
	tok, _, err := iss.Issue("user-1", "session-1")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iss.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIssue(b *testing.B) {
	iss, _, _ := newIssuer(b, time.Now())
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := iss.Issue("user-1", "session-1"); err != nil {
			b.Fatal(err)
		}
	}
}

// A verified token is remembered, but its validity window still applies on
// every use, and nothing but the exact token text hits the cache.
func TestVerifiedCacheKeepsTheTimeWindow(t *testing.T) {
	now := testNow
	ring, err := NewKeyRing(newKey(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	iss := NewIssuer(testCfg, ring, func() time.Time { return now })
	tok, claims, err := iss.Issue("u", "s")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Verify(tok); err != nil {
		t.Fatal(err)
	}
	// Change a character in the middle of the signature: the last ones
	// carry padding bits, and "AA" there can leave the bytes as they were.
	i := len(tok) - 20
	c := byte('A')
	if tok[i] == c {
		c = 'B'
	}
	tampered := tok[:i] + string(c) + tok[i+1:]
	if _, err := iss.Verify(tampered); !errors.Is(err, ErrInvalid) {
		t.Fatalf("tampered token after a cached verify: err = %v", err)
	}
	now = claims.Expires.Add(iss.cfg.Leeway - time.Second)
	if _, err := iss.Verify(tok); err != nil {
		t.Fatalf("within the leeway: %v", err)
	}
	now = claims.Expires.Add(iss.cfg.Leeway)
	if _, err := iss.Verify(tok); !errors.Is(err, ErrInvalid) {
		t.Fatalf("cached token past its expiry: err = %v, want ErrInvalid", err)
	}
	now = claims.IssuedAt.Add(-iss.cfg.Leeway - time.Second)
	if _, err := iss.Verify(tok); !errors.Is(err, ErrInvalid) {
		t.Fatalf("cached token before its nbf: err = %v, want ErrInvalid", err)
	}
}

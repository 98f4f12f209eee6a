// Package token issues and verifies short-lived access tokens: JWTs signed
// with Ed25519 (alg EdDSA).
//
// Verification trusts nothing in the token's header beyond the kid used to
// pick a key from the local KeyRing. The algorithm is fixed to EdDSA, and
// headers that point at other keys (jku, x5u, jwk, x5c) are refused, so a
// forger can neither downgrade to "none" or HMAC nor bring a key of their
// own.
package token

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

const (
	// DefaultLeeway absorbs clock drift between the instances that issue
	// and verify tokens.
	DefaultLeeway = 30 * time.Second
	// DefaultTTL applies when Config.TTL is not positive; a token that is
	// born expired is never useful.
	DefaultTTL = 15 * time.Minute

	sessionClaim = "sid"

	// Our tokens are a few hundred bytes. Anything far larger is refused
	// before any decoding work is spent on it.
	maxTokenBytes = 8 << 10
)

// ErrInvalid is wrapped by every Verify failure. The wrapped text names the
// broad reason for logs but never echoes the parser's messages or token
// content.
var ErrInvalid = errors.New("invalid token")

// Config controls what Issue puts into a token and what Verify accepts.
type Config struct {
	Issuer   string
	Audience string
	// TTL is the token lifetime; DefaultTTL when not positive.
	TTL time.Duration
	// Leeway is the allowed clock skew for exp, nbf and iat; DefaultLeeway
	// when zero, no skew when negative.
	Leeway time.Duration
}

// Claims are the verified contents of an access token.
type Claims struct {
	Subject   string // user id
	SessionID string // "sid"
	ID        string // "jti"
	IssuedAt  time.Time
	Expires   time.Time
}

// Issuer signs and verifies access tokens with the keys of a KeyRing. It is
// safe for concurrent use.
type Issuer struct {
	cfg  Config
	ring *KeyRing
	now  func() time.Time
}

// NewIssuer returns an Issuer for cfg. now supplies the current time for
// both issuing and verifying; nil means time.Now. It panics if ring is nil,
// because an issuer without keys is a wiring mistake, not a runtime
// condition.
func NewIssuer(cfg Config, ring *KeyRing, now func() time.Time) *Issuer {
	if ring == nil {
		panic("token: NewIssuer needs a KeyRing")
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	switch {
	case cfg.Leeway == 0:
		cfg.Leeway = DefaultLeeway
	case cfg.Leeway < 0:
		cfg.Leeway = 0
	}
	if now == nil {
		now = time.Now
	}
	return &Issuer{cfg: cfg, ring: ring, now: now}
}

// Issue returns a compact JWT with header {alg: EdDSA, kid, typ: JWT} and
// claims iss, aud, sub, sid, iat, nbf, exp and jti, together with those
// claims as Claims. The jti is a UUIDv7, so ids sort by issue time in logs
// and deny lists.
func (i *Issuer) Issue(userID, sessionID string) (string, Claims, error) {
	if userID == "" || sessionID == "" {
		return "", Claims{}, errors.New("token: user id and session id are required")
	}
	id, err := uuid.NewV7()
	if err != nil {
		return "", Claims{}, fmt.Errorf("token: generating jti: %w", err)
	}
	// NumericDate has whole-second precision; truncating here makes the
	// returned Claims equal to what Verify later reports.
	now := i.now().UTC().Truncate(time.Second)
	c := Claims{
		Subject:   userID,
		SessionID: sessionID,
		ID:        id.String(),
		IssuedAt:  now,
		Expires:   now.Add(i.cfg.TTL),
	}
	tok, err := jwt.NewBuilder().
		Issuer(i.cfg.Issuer).
		Audience([]string{i.cfg.Audience}).
		Subject(c.Subject).
		Claim(sessionClaim, c.SessionID).
		IssuedAt(c.IssuedAt).
		NotBefore(c.IssuedAt).
		Expiration(c.Expires).
		JwtID(c.ID).
		Build()
	if err != nil {
		return "", Claims{}, fmt.Errorf("token: building claims: %w", err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.EdDSA(), i.ring.load().signer))
	if err != nil {
		return "", Claims{}, fmt.Errorf("token: signing: %w", err)
	}
	return string(signed), c, nil
}

// Verify checks the signature, issuer, audience and validity window of a
// token (exp, nbf and iat, each with the configured leeway) and that sub,
// sid and jti are present. Every failure wraps ErrInvalid.
func (i *Issuer) Verify(token string) (Claims, error) {
	if len(token) > maxTokenBytes {
		return Claims{}, invalid("too large")
	}
	ks := i.ring.load()
	if c, ok := ks.verified.get(token); ok {
		// The signature and claims verified before; only time has moved.
		now := i.now()
		if !now.Before(c.Expires.Add(i.cfg.Leeway)) {
			return Claims{}, invalid("expired")
		}
		if now.Add(i.cfg.Leeway).Before(c.IssuedAt) {
			return Claims{}, invalid("not yet valid")
		}
		return c, nil
	}
	kid, reason := checkHeader(token)
	if reason != "" {
		return Claims{}, invalid(reason)
	}
	key, ok := ks.verify[kid]
	if !ok {
		return Claims{}, invalid("unknown key")
	}
	c, err := i.parse(token, key)
	if err != nil {
		return Claims{}, err
	}
	ks.verified.put(token, c)
	return c, nil
}

// parse verifies token against key and validates its claims. It does not
// depend on checkHeader having run, so the library's own algorithm pinning
// still stands if the header screening is ever loosened.
func (i *Issuer) parse(token string, key ed25519.PublicKey) (Claims, error) {
	tok, err := jwt.ParseString(token,
		// Key and algorithm both come from our side; jwx refuses a token
		// whose header alg differs from this pinned value.
		jwt.WithKey(jwa.EdDSA(), key),
		jwt.WithIssuer(i.cfg.Issuer),
		jwt.WithAudience(i.cfg.Audience),
		jwt.WithAcceptableSkew(i.cfg.Leeway),
		jwt.WithClock(jwt.ClockFunc(i.now)),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(jwt.IssuedAtKey),
		jwt.WithRequiredClaim(jwt.SubjectKey),
		jwt.WithRequiredClaim(jwt.JwtIDKey),
		jwt.WithRequiredClaim(sessionClaim),
	)
	if err != nil {
		return Claims{}, invalid(classify(err))
	}

	var c Claims
	c.Subject, _ = tok.Subject()
	c.ID, _ = tok.JwtID()
	c.IssuedAt, _ = tok.IssuedAt()
	c.Expires, _ = tok.Expiration()
	if err := tok.Get(sessionClaim, &c.SessionID); err != nil {
		return Claims{}, invalid("sid is not a string")
	}
	if c.Subject == "" || c.SessionID == "" || c.ID == "" {
		return Claims{}, invalid("empty sub, sid or jti")
	}
	c.IssuedAt = c.IssuedAt.UTC()
	c.Expires = c.Expires.UTC()
	return c, nil
}

func invalid(reason string) error {
	return fmt.Errorf("%w: %s", ErrInvalid, reason)
}

// classify maps jwx errors to a fixed vocabulary so that callers and logs
// never carry library text, which can quote attacker-controlled input.
func classify(err error) string {
	switch {
	case errors.Is(err, jwt.TokenExpiredError()):
		return "expired"
	case errors.Is(err, jwt.TokenNotYetValidError()):
		return "not yet valid"
	case errors.Is(err, jwt.InvalidIssuedAtError()):
		return "issued in the future"
	case errors.Is(err, jwt.InvalidIssuerError()):
		return "wrong issuer"
	case errors.Is(err, jwt.InvalidAudienceError()):
		return "wrong audience"
	case errors.Is(err, jwt.MissingRequiredClaimError()):
		return "missing claim"
	case errors.Is(err, jwt.ValidateError()):
		return "claims rejected"
	default:
		return "malformed or bad signature"
	}
}

// allowedHeaders are the only protected header members we ever write. An
// allowlist rather than a denylist of jku/x5u/jwk/x5c also keeps out crit,
// b64 and any extension whose meaning jwx might honour in a later release.
var allowedHeaders = map[string]bool{"alg": true, "kid": true, "typ": true}

// checkHeader validates the compact serialization's shape and protected
// header, and returns the kid to look up. A non-empty reason means reject.
func checkHeader(token string) (kid, reason string) {
	if strings.Count(token, ".") != 2 {
		return "", "not a compact JWS"
	}
	encoded, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.Strict().DecodeString(encoded)
	if err != nil {
		return "", "malformed header"
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(raw, &hdr); err != nil {
		return "", "malformed header"
	}
	for name := range hdr {
		if !allowedHeaders[name] {
			return "", "unexpected header member"
		}
	}
	if headerString(hdr, "alg") != jwa.EdDSA().String() {
		return "", "algorithm not allowed"
	}
	if typ := headerString(hdr, "typ"); typ != "JWT" {
		return "", "wrong typ"
	}
	kid = headerString(hdr, "kid")
	if kid == "" {
		return "", "missing kid"
	}
	return kid, ""
}

func headerString(hdr map[string]json.RawMessage, name string) string {
	v, ok := hdr[name]
	if !ok {
		return ""
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return ""
	}
	return s
}

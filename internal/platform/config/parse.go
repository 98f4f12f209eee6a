package config

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"strings"

	"github.com/caarlos0/env/v11"
)

// valueError carries a message that is already fit for an operator and safe
// to show, i.e. it does not contain secret input.
type valueError struct{ msg string }

func (e valueError) Error() string { return e.msg }

func valueErrorf(format string, args ...any) error {
	return valueError{msg: fmt.Sprintf(format, args...)}
}

// parsers handle whole list values instead of letting the env library split
// them, so that blanks around commas are tolerated and an error can name the
// offending entry.
var parsers = map[reflect.Type]env.ParserFunc{
	reflect.TypeFor[[]string]():            func(v string) (any, error) { return splitList(v), nil },
	reflect.TypeFor[[]netip.Prefix]():      func(v string) (any, error) { return parsePrefixes(v) },
	reflect.TypeFor[[]ed25519.PublicKey](): func(v string) (any, error) { return parsePublicKeys(v) },
	reflect.TypeFor[[]EncryptionKey]():     func(v string) (any, error) { return parseKeyRing(v) },
}

// splitList splits a comma separated value, trimming blanks and dropping
// empty entries so that "a, b," means [a b].
func splitList(v string) []string {
	var out []string
	for part := range strings.SplitSeq(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// parsePrefixes accepts IP addresses and CIDR ranges; a single address
// becomes a /32 or /128 so callers only deal with prefixes.
func parsePrefixes(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, entry := range splitList(v) {
		p, err := parsePrefix(entry)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func parsePrefix(entry string) (netip.Prefix, error) {
	if strings.Contains(entry, "/") {
		p, err := netip.ParsePrefix(entry)
		if err != nil {
			return netip.Prefix{}, valueErrorf("%q is not an IP address or CIDR range, e.g. 10.0.0.0/8 or 192.0.2.10", entry)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(entry)
	if err != nil {
		return netip.Prefix{}, valueErrorf("%q is not an IP address or CIDR range, e.g. 10.0.0.0/8 or 192.0.2.10", entry)
	}
	if a.Zone() != "" {
		return netip.Prefix{}, valueErrorf("%q has an IPv6 zone, which cannot match a client address; drop the %%zone part", entry)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// decodeBase64 accepts URL-safe and standard alphabets, with or without
// padding, because operators generate keys with whatever tool is at hand.
func decodeBase64(s string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.StdEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

// weakKey rejects keys that are obviously not random, such as a run of one
// byte or a short repeated pattern; 32 random bytes practically always have
// far more than 16 distinct values.
func weakKey(b []byte) bool {
	seen := make(map[byte]struct{}, len(b))
	for _, x := range b {
		seen[x] = struct{}{}
	}
	return len(seen) < 16
}

const keyHint = "generate one with `api keys generate` (`--type field` for FIELD_ENCRYPTION_KEYS)"

// parseSigningKey turns JWT_SIGNING_KEY into an Ed25519 private key. Messages
// never include the key itself.
func parseSigningKey(s string) (ed25519.PrivateKey, error) {
	seed, ok := decodeBase64(s)
	if !ok {
		return nil, valueErrorf("is not base64; it must be a base64url encoded 32-byte Ed25519 seed; %s", keyHint)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, valueErrorf("decodes to %d bytes but an Ed25519 seed is %d bytes; %s", len(seed), ed25519.SeedSize, keyHint)
	}
	if weakKey(seed) {
		return nil, valueErrorf("is weak (too few distinct byte values, so it is not random); %s", keyHint)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

func parsePublicKeys(v string) ([]ed25519.PublicKey, error) {
	var out []ed25519.PublicKey
	for i, entry := range splitList(v) {
		b, ok := decodeBase64(entry)
		if !ok {
			return nil, valueErrorf("entry %d is not base64; list base64url encoded 32-byte Ed25519 public keys", i+1)
		}
		if len(b) != ed25519.PublicKeySize {
			return nil, valueErrorf("entry %d decodes to %d bytes but an Ed25519 public key is %d bytes", i+1, len(b), ed25519.PublicKeySize)
		}
		out = append(out, ed25519.PublicKey(b))
	}
	return out, nil
}

// parseKeyRing parses "id:base64key,..." entries. Messages name entries by
// id or position only, never by key material.
func parseKeyRing(v string) ([]EncryptionKey, error) {
	var out []EncryptionKey
	ids := map[string]bool{}
	material := map[string]string{}
	for i, entry := range splitList(v) {
		id, encoded, found := strings.Cut(entry, ":")
		id, encoded = strings.TrimSpace(id), strings.TrimSpace(encoded)
		if !found || id == "" || encoded == "" {
			return nil, valueErrorf("entry %d is not in the form id:base64key, e.g. 2024a:<32 random bytes in base64>", i+1)
		}
		if !validKeyID(id) {
			return nil, valueErrorf("key id %q may only contain letters, digits, '-' and '_' (at most 32 characters) because it is stored with every ciphertext", id)
		}
		if ids[id] {
			return nil, valueErrorf("key id %q appears more than once; every key needs its own id so ciphertexts can be matched to it", id)
		}
		ids[id] = true
		key, ok := decodeBase64(encoded)
		if !ok {
			return nil, valueErrorf("key %q is not base64; %s", id, keyHint)
		}
		if len(key) != 32 {
			return nil, valueErrorf("key %q decodes to %d bytes but AES-256 needs 32; %s", id, len(key), keyHint)
		}
		if weakKey(key) {
			return nil, valueErrorf("key %q is weak (too few distinct byte values, so it is not random); %s", id, keyHint)
		}
		if other, dup := material[string(key)]; dup {
			return nil, valueErrorf("keys %q and %q are identical; give each id a fresh key", other, id)
		}
		material[string(key)] = id
		out = append(out, EncryptionKey{ID: id, Key: key})
	}
	return out, nil
}

func validKeyID(id string) bool {
	if len(id) > 32 {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
		default:
			return false
		}
	}
	return true
}

// KeyFiles reads JWT_SIGNING_KEY_FILE and JWT_VERIFICATION_KEYS_FILE again
// and returns the keys now in force: those from the files, or the ones from
// the environment where no file is configured. The server calls it on SIGHUP
// to rotate keys without a restart.
func (c *Config) KeyFiles() (ed25519.PrivateKey, []ed25519.PublicKey, error) {
	signing, verify, p := c.readKeyFiles()
	if p != nil {
		return nil, nil, errors.New(p.String())
	}
	if signing == nil {
		signing = c.SigningKey
	}
	if verify == nil && c.JWTVerificationKeysFile == "" {
		verify = c.JWTVerificationKeys
	}
	return signing, verify, nil
}

// readKeyFiles parses the configured key files (nil results for files not configured).
func (c *Config) readKeyFiles() (ed25519.PrivateKey, []ed25519.PublicKey, *Problem) {
	var (
		signing ed25519.PrivateKey
		verify  []ed25519.PublicKey
	)
	if c.JWTSigningKeyFile != "" {
		raw, err := os.ReadFile(c.JWTSigningKeyFile)
		if err != nil {
			return nil, nil, &Problem{"JWT_SIGNING_KEY_FILE", "cannot be read; point it at a file holding the key from `api keys generate`"}
		}
		if signing, err = parseSigningKey(strings.TrimSpace(string(raw))); err != nil {
			return nil, nil, &Problem{"JWT_SIGNING_KEY_FILE", err.Error()}
		}
	}
	if c.JWTVerificationKeysFile != "" {
		raw, err := os.ReadFile(c.JWTVerificationKeysFile)
		if err != nil {
			return nil, nil, &Problem{"JWT_VERIFICATION_KEYS_FILE", "cannot be read; point it at a file of public keys, one per line or comma-separated"}
		}
		list := strings.Join(strings.Fields(strings.ReplaceAll(string(raw), ",", " ")), ",")
		verify = []ed25519.PublicKey{}
		if list != "" {
			if verify, err = parsePublicKeys(list); err != nil {
				return nil, nil, &Problem{"JWT_VERIFICATION_KEYS_FILE", err.Error()}
			}
		}
	}
	return signing, verify, nil
}

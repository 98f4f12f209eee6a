package token

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// GenerateKey returns a new Ed25519 seed for JWT_SIGNING_KEY and the
// matching public key for JWT_VERIFICATION_KEYS on other instances, both
// base64url without padding.
func GenerateKey() (seed string, public string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("token: generating key: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(priv.Seed()), base64.RawURLEncoding.EncodeToString(pub), nil
}

// LoadOrCreateDevKey returns the Ed25519 key whose base64url seed is stored
// at path, creating the file (mode 0600, parent directories 0700) with a new
// seed when it does not exist. Development uses it so that tokens survive a
// restart without anyone configuring a key; production configures
// JWT_SIGNING_KEY and never calls it.
//
// An existing file readable by group or others is refused rather than used,
// because anyone who can read it can mint tokens.
func LoadOrCreateDevKey(path string) (ed25519.PrivateKey, error) {
	key, err := readDevKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}

	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("token: creating directory for dev key: %w", err)
	}
	seed, _, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	// O_EXCL: when two processes start at once, the loser reads the
	// winner's key instead of overwriting it and invalidating its tokens.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readDevKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("token: creating dev key: %w", err)
	}
	_, werr := f.WriteString(seed + "\n")
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("token: writing dev key: %w", err)
	}
	return readDevKey(path)
}

func readDevKey(path string) (ed25519.PrivateKey, error) {
	info, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("token: reading dev key: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("token: dev key %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("token: dev key %s has mode %04o; it must be readable by its owner only (chmod 600)", path, perm)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("token: reading dev key: %w", err)
	}
	seed, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(string(data)), "="))
	if err != nil || len(seed) != ed25519.SeedSize {
		// The message never includes the file content: it is a secret.
		return nil, fmt.Errorf("token: dev key %s does not hold a base64url %d-byte Ed25519 seed", path, ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

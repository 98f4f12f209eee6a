package fieldcrypt

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DevKeyID is the id of the key LoadOrCreateDevKey keeps.
const DevKeyID = "dev"

// LoadOrCreateDevKey returns the key whose base64 form is stored at path,
// creating the file (mode 0600, parent directories 0700) with a new random
// key when it does not exist. Development uses it so that sealed values
// survive a restart without anyone configuring FIELD_ENCRYPTION_KEYS;
// production configures the ring and never calls it.
//
// An existing file readable by group or others is refused rather than used,
// because anyone who can read it can open every sealed value.
func LoadOrCreateDevKey(path string) (Key, error) {
	k, err := readDevKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return Key{}, fmt.Errorf("fieldcrypt: creating directory for dev key: %w", err)
	}
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		return Key{}, err
	}
	// O_EXCL: when two processes start at once, the loser reads the
	// winner's key instead of overwriting it and orphaning its values.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readDevKey(path)
	}
	if err != nil {
		return Key{}, fmt.Errorf("fieldcrypt: creating dev key: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(raw) + "\n")
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(path)
		return Key{}, fmt.Errorf("fieldcrypt: writing dev key: %w", err)
	}
	return readDevKey(path)
}

func readDevKey(path string) (Key, error) {
	info, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Key{}, err
		}
		return Key{}, fmt.Errorf("fieldcrypt: reading dev key: %w", err)
	}
	if !info.Mode().IsRegular() {
		return Key{}, fmt.Errorf("fieldcrypt: dev key %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return Key{}, fmt.Errorf("fieldcrypt: dev key %s has mode %04o; it must be readable by its owner only (chmod 600)", path, perm)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Key{}, fmt.Errorf("fieldcrypt: reading dev key: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(raw) != KeySize {
		// The message never includes the file content: it is a secret.
		return Key{}, fmt.Errorf("fieldcrypt: dev key %s does not hold a base64 %d-byte key", path, KeySize)
	}
	return Key{ID: DevKeyID, Key: raw}, nil
}

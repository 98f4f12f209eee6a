package token

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerateKey(t *testing.T) {
	seed, public, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(seed+public, "=+/") {
		t.Fatalf("not unpadded base64url: %q %q", seed, public)
	}
	rawSeed, err := b64.DecodeString(seed)
	if err != nil || len(rawSeed) != ed25519.SeedSize {
		t.Fatalf("seed decodes to %d bytes, %v", len(rawSeed), err)
	}
	rawPub, err := b64.DecodeString(public)
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.NewKeyFromSeed(rawSeed).Public().(ed25519.PublicKey).Equal(ed25519.PublicKey(rawPub)) {
		t.Fatal("public key does not belong to the seed")
	}
	again, _, _ := GenerateKey()
	if again == seed {
		t.Fatal("GenerateKey repeated a seed")
	}
}

func TestLoadOrCreateDevKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "keys")
	path := filepath.Join(dir, "jwt.key")

	key, err := LoadOrCreateDevKey(path)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if len(key) != ed25519.PrivateKeySize {
		t.Fatalf("key is %d bytes", len(key))
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Fatalf("key file mode %04o, want 0600", perm)
	}
	dinfo, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := dinfo.Mode().Perm(); perm != 0o700 {
		t.Fatalf("key directory mode %04o, want 0700", perm)
	}
	data, _ := os.ReadFile(path)
	if seed, err := b64.DecodeString(strings.TrimSpace(string(data))); err != nil || !ed25519.NewKeyFromSeed(seed).Equal(key) {
		t.Fatalf("file does not hold the returned key's seed: %v", err)
	}

	again, err := LoadOrCreateDevKey(path)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if !again.Equal(key) {
		t.Fatal("second call returned a different key")
	}
	if _, err := NewKeyRing(key, nil); err != nil {
		t.Fatalf("dev key unusable: %v", err)
	}
}

func TestLoadOrCreateDevKeyRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	seed, _, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}

	open := filepath.Join(dir, "open.key")
	if err := os.WriteFile(open, []byte(seed), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateDevKey(open); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable key: err = %v", err)
	}

	short := filepath.Join(dir, "short.key")
	if err := os.WriteFile(short, []byte("c2hvcnQ"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadOrCreateDevKey(short)
	if err == nil {
		t.Fatal("short seed accepted")
	}

	secret := filepath.Join(dir, "secret.key")
	if err := os.WriteFile(secret, []byte("!!"+seed), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadOrCreateDevKey(secret)
	if err == nil || strings.Contains(err.Error(), seed) {
		t.Fatalf("malformed key: err = %v", err)
	}

	if _, err := LoadOrCreateDevKey(dir); err == nil {
		t.Fatal("a directory was accepted as a key file")
	}
}

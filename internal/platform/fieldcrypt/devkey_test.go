package fieldcrypt_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"secureapi/internal/platform/fieldcrypt"
)

func TestDevKeyIsCreatedOnceWithOwnerOnlyMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "field-encryption.key")
	k1, err := fieldcrypt.LoadOrCreateDevKey(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", info.Mode(), err)
	}
	if k1.ID != fieldcrypt.DevKeyID || len(k1.Key) != fieldcrypt.KeySize {
		t.Fatalf("key = %v", k1)
	}
	k2, err := fieldcrypt.LoadOrCreateDevKey(path)
	if err != nil || !bytes.Equal(k1.Key, k2.Key) {
		t.Fatalf("second load gave another key (%v)", err)
	}
	// A value sealed before a restart opens after it.
	r1, _ := fieldcrypt.NewRing([]fieldcrypt.Key{k1})
	r2, _ := fieldcrypt.NewRing([]fieldcrypt.Key{k2})
	sealed, _ := r1.Seal([]byte("seed"), []byte("aad"))
	if got, err := r2.Open(sealed, []byte("aad")); err != nil || string(got) != "seed" {
		t.Fatalf("Open after reload = %q, %v", got, err)
	}
}

func TestDevKeyReadableByOthersIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "field-encryption.key")
	if _, err := fieldcrypt.LoadOrCreateDevKey(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := fieldcrypt.LoadOrCreateDevKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("err = %v, want a refusal naming chmod 600", err)
	}
}

func TestDevKeyWithGarbageIsRefusedWithoutEchoingIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "field-encryption.key")
	if err := os.WriteFile(path, []byte("s3cret-not-a-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := fieldcrypt.LoadOrCreateDevKey(path)
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("err = %v", err)
	}
}

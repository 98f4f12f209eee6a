package config

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func pubText(t *testing.T) (string, ed25519.PublicKey) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(pub), pub
}

// Keys from files load like the variables, are read again by KeyFiles, and
// exclude their variables; production accepts a key from a file.
func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	signFile, verifyFile := filepath.Join(dir, "signing"), filepath.Join(dir, "verify")
	seed, priv := newSeed(t)
	p1, pub1 := pubText(t)
	p2, pub2 := pubText(t)
	os.WriteFile(signFile, []byte(seed+"\n"), 0o600)
	os.WriteFile(verifyFile, []byte(p1+"\n"+p2+"\n"), 0o600)

	env := with(prodEnv(t), "JWT_SIGNING_KEY_FILE", signFile, "JWT_VERIFICATION_KEYS_FILE", verifyFile)
	delete(env, "JWT_SIGNING_KEY")
	c := mustLoad(t, env, "")
	if !c.SigningKey.Equal(priv) || len(c.JWTVerificationKeys) != 2 || !c.JWTVerificationKeys[0].Equal(pub1) || !c.JWTVerificationKeys[1].Equal(pub2) {
		t.Fatalf("keys from files not loaded: %v", c.JWTVerificationKeys)
	}
	for _, line := range c.Masked() {
		if strings.Contains(line, seed) {
			t.Fatalf("Masked shows the key: %s", line)
		}
	}

	// Rotation: new files, same configuration.
	seed2, priv2 := newSeed(t)
	os.WriteFile(signFile, []byte(seed2), 0o600)
	os.WriteFile(verifyFile, []byte(base64.RawURLEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))), 0o600)
	signing, verify, err := c.KeyFiles()
	if err != nil || !signing.Equal(priv2) || len(verify) != 1 || !verify[0].Equal(priv.Public()) {
		t.Fatalf("KeyFiles after rotation = %v, %v, %v", signing != nil, verify, err)
	}

	// A broken file is an error, and the caller keeps its keys.
	os.WriteFile(signFile, []byte("not a key"), 0o600)
	if _, _, err := c.KeyFiles(); err == nil || !strings.Contains(err.Error(), "JWT_SIGNING_KEY_FILE") {
		t.Fatalf("broken signing file: %v", err)
	}

	for _, tc := range []struct {
		name string
		env  map[string]string
		bad  string
	}{
		{"both signing settings", with(prodEnv(t), "JWT_SIGNING_KEY_FILE", signFile), "JWT_SIGNING_KEY_FILE"},
		{"missing file", with(prodEnv(t), "JWT_VERIFICATION_KEYS_FILE", filepath.Join(dir, "nope")), "JWT_VERIFICATION_KEYS_FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if e := loadErr(t, tc.env, ""); !e.Has(tc.bad) {
				t.Fatalf("problems %v lack %s", e.Problems, tc.bad)
			}
		})
	}
}

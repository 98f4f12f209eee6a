package token

import (
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// KeyRing holds one signing key and any number of extra public keys that are
// still accepted for verification, so that tokens signed before a key
// rotation stay valid until they expire. It is safe for concurrent use.
//
// Every key is identified by its RFC 7638 JWK thumbprint (SHA-256,
// base64url), so the kid is derived from the key itself and other instances
// and JWKS consumers agree on it without extra configuration.
type KeyRing struct {
	cur atomic.Pointer[keySet]
}

// keySet is immutable once published, so readers never lock (its cache of
// verified tokens has a lock of its own). A rotation publishes a new set, and
// with it an empty cache, so no token outlives the keys that verified it.
type keySet struct {
	signKid  string
	signer   jwk.Key // private, carries kid so jwt.Sign puts it in the header
	verify   map[string]ed25519.PublicKey
	jwks     []byte
	verified verifiedCache
}

// NewKeyRing returns a ring that signs with signing and verifies with its
// public key plus every key in verify.
func NewKeyRing(signing ed25519.PrivateKey, verify []ed25519.PublicKey) (*KeyRing, error) {
	ks, err := newKeySet(signing, verify)
	if err != nil {
		return nil, err
	}
	k := &KeyRing{}
	k.cur.Store(ks)
	return k, nil
}

// Replace swaps in a new signing key and verification list in one step, so
// a configuration reload never exposes a half-updated ring. On error the
// ring is left unchanged.
func (k *KeyRing) Replace(signing ed25519.PrivateKey, verify []ed25519.PublicKey) error {
	ks, err := newKeySet(signing, verify)
	if err != nil {
		return err
	}
	k.cur.Store(ks)
	return nil
}

// JWKS returns the public keys as a JSON Web Key Set ({"keys":[...]}), the
// signing key first. Each entry carries kty, crv, x, kid, alg and use; no
// private material is ever included.
func (k *KeyRing) JWKS() ([]byte, error) {
	ks := k.cur.Load()
	return append([]byte(nil), ks.jwks...), nil
}

// SigningKeyID returns the kid of the current signing key.
func (k *KeyRing) SigningKeyID() string { return k.cur.Load().signKid }

func (k *KeyRing) load() *keySet { return k.cur.Load() }

func newKeySet(signing ed25519.PrivateKey, verify []ed25519.PublicKey) (*keySet, error) {
	if len(signing) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("token: signing key is %d bytes, want %d", len(signing), ed25519.PrivateKeySize)
	}
	// Rebuild from the seed: an ed25519.PrivateKey whose trailing public
	// half does not match its seed would sign tokens nobody can verify.
	signing = ed25519.NewKeyFromSeed(signing.Seed())

	signer, err := jwk.Import(signing)
	if err != nil {
		return nil, fmt.Errorf("token: importing signing key: %w", err)
	}
	pub, _ := signing.Public().(ed25519.PublicKey)
	signKid, err := keyID(pub)
	if err != nil {
		return nil, err
	}
	if err := signer.Set(jwk.KeyIDKey, signKid); err != nil {
		return nil, fmt.Errorf("token: setting kid: %w", err)
	}

	ks := &keySet{
		signKid: signKid,
		signer:  signer,
		verify:  map[string]ed25519.PublicKey{signKid: pub},
	}
	set := jwk.NewSet()
	if err := addPublic(set, pub, signKid); err != nil {
		return nil, err
	}
	for i, v := range verify {
		if len(v) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("token: verification key %d is %d bytes, want %d", i+1, len(v), ed25519.PublicKeySize)
		}
		kid, err := keyID(v)
		if err != nil {
			return nil, err
		}
		if _, dup := ks.verify[kid]; dup {
			continue
		}
		// Copy so a caller reusing its slice cannot change a published key.
		ks.verify[kid] = append(ed25519.PublicKey(nil), v...)
		if err := addPublic(set, ks.verify[kid], kid); err != nil {
			return nil, err
		}
	}
	ks.jwks, err = json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("token: encoding JWKS: %w", err)
	}
	return ks, nil
}

func addPublic(set jwk.Set, pub ed25519.PublicKey, kid string) error {
	key, err := jwk.Import(pub)
	if err != nil {
		return fmt.Errorf("token: importing public key: %w", err)
	}
	if err := errors.Join(
		key.Set(jwk.KeyIDKey, kid),
		key.Set(jwk.AlgorithmKey, jwa.EdDSA()),
		key.Set(jwk.KeyUsageKey, jwk.ForSignature),
	); err != nil {
		return fmt.Errorf("token: describing public key: %w", err)
	}
	if err := set.AddKey(key); err != nil {
		return fmt.Errorf("token: adding public key to JWKS: %w", err)
	}
	return nil
}

// keyID returns the RFC 7638 thumbprint of pub.
func keyID(pub ed25519.PublicKey) (string, error) {
	key, err := jwk.Import(pub)
	if err != nil {
		return "", fmt.Errorf("token: importing public key: %w", err)
	}
	tp, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("token: computing key thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

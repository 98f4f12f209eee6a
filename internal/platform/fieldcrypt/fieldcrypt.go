// Package fieldcrypt encrypts individual database values that must be
// recoverable (MFA seeds, third-party API tokens) with AES-256-GCM under a
// key ring, so that a copy of the database alone does not reveal them and
// keys can be rotated without rewriting every row at once.
//
// A sealed value is text, safe for a TEXT column:
//
//	v1.<key id>.<base64url without padding of nonce || ciphertext || tag>
//
// The key id travels with the value so that values written under an older
// key still open after a new key is put in front of the ring.
package fieldcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of every key: AES-256.
const KeySize = 32

const (
	version  = "v1"
	maxIDLen = 32
	// Overhead of the random-nonce GCM construction: 12-byte nonce plus
	// 16-byte tag.
	overhead = 12 + 16
	// GCM cannot encrypt more than 2^32-2 blocks under one nonce; checking
	// here turns the standard library's panic into an error.
	maxPlaintext = (1<<32 - 2) * aes.BlockSize
)

var (
	// ErrInvalid means the value is not one this ring sealed for this aad:
	// malformed, truncated, tampered with, or bound to another aad. It
	// deliberately does not say which, so that error text cannot guide an
	// attacker.
	ErrInvalid = errors.New("fieldcrypt: invalid sealed value")

	// ErrUnknownKey means the value names a key the ring no longer holds;
	// the key was removed from configuration before every value sealed
	// with it was re-sealed.
	ErrUnknownKey = errors.New("fieldcrypt: unknown key id")
)

// Key is one AES-256 key of the ring. It has the same fields as
// config.EncryptionKey, so a configured key converts with Key(k).
type Key struct {
	ID  string
	Key []byte
}

// String hides the key material so that logging a key by accident cannot
// leak it.
func (k Key) String() string { return k.ID + ":***" }

// GoString hides the key material from %#v as well.
func (k Key) GoString() string { return fmt.Sprintf("fieldcrypt.Key{ID: %q, Key: ***}", k.ID) }

// Ring seals with its first key and opens with any of its keys. It is
// immutable and safe for concurrent use.
type Ring struct {
	current string
	ids     []string // in configuration order, for String
	aeads   map[string]cipher.AEAD
}

// NewRing builds a ring from keys; keys[0] seals. The key bytes are not
// retained, so the caller may wipe them afterwards.
func NewRing(keys []Key) (*Ring, error) {
	if len(keys) == 0 {
		return nil, errors.New("fieldcrypt: key ring is empty")
	}
	r := &Ring{
		current: keys[0].ID,
		ids:     make([]string, 0, len(keys)),
		aeads:   make(map[string]cipher.AEAD, len(keys)),
	}
	for i, k := range keys {
		if !validID(k.ID) {
			return nil, fmt.Errorf("fieldcrypt: key %d: id must be 1 to %d characters of A-Z a-z 0-9 _ -", i, maxIDLen)
		}
		if len(k.Key) != KeySize {
			return nil, fmt.Errorf("fieldcrypt: key %q is %d bytes; it must be %d", k.ID, len(k.Key), KeySize)
		}
		if _, dup := r.aeads[k.ID]; dup {
			return nil, fmt.Errorf("fieldcrypt: key id %q appears more than once", k.ID)
		}
		block, err := aes.NewCipher(k.Key)
		if err != nil {
			return nil, fmt.Errorf("fieldcrypt: key %q: %w", k.ID, err)
		}
		// The standard library draws the nonce itself, so no caller can
		// ever reuse one.
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, fmt.Errorf("fieldcrypt: key %q: %w", k.ID, err)
		}
		r.aeads[k.ID] = aead
		r.ids = append(r.ids, k.ID)
	}
	return r, nil
}

// CurrentKeyID is the id of the key Seal uses.
func (r *Ring) CurrentKeyID() string { return r.current }

// String lists key ids only, never key material.
func (r *Ring) String() string { return "fieldcrypt.Ring[" + strings.Join(r.ids, ",") + "]" }

// GoString keeps %#v from reaching into the ciphers' expanded keys.
func (r *Ring) GoString() string { return r.String() }

// Seal encrypts plaintext with the current key, bound to aad. Give aad the
// place the value is stored in (for example "users.mfa_seed:<user id>") so
// that a value copied to another row or column fails to open there.
func (r *Ring) Seal(plaintext, aad []byte) (string, error) {
	if uint64(len(plaintext)) > maxPlaintext {
		return "", errors.New("fieldcrypt: plaintext too large")
	}
	sealed := r.aeads[r.current].Seal(nil, nil, plaintext, fullAAD(r.current, aad))

	enc := base64.RawURLEncoding
	var b strings.Builder
	b.Grow(len(version) + 1 + len(r.current) + 1 + enc.EncodedLen(len(sealed)))
	b.WriteString(version)
	b.WriteByte('.')
	b.WriteString(r.current)
	b.WriteByte('.')
	b.WriteString(enc.EncodeToString(sealed))
	return b.String(), nil
}

// Open decrypts a value made by Seal with the same aad. It returns
// ErrUnknownKey (wrapped, with the key id) when the ring no longer holds the
// value's key, and ErrInvalid for anything else that is wrong.
func (r *Ring) Open(sealed string, aad []byte) ([]byte, error) {
	id, payload, ok := parse(sealed)
	if !ok {
		return nil, ErrInvalid
	}
	aead, ok := r.aeads[id]
	if !ok {
		// The id passed validID, so it is safe to show to an operator.
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, id)
	}
	plaintext, err := aead.Open(nil, nil, payload, fullAAD(id, aad))
	if err != nil {
		return nil, ErrInvalid
	}
	if plaintext == nil {
		plaintext = []byte{}
	}
	return plaintext, nil
}

// NeedsRotation reports whether sealed was not made with the current key, so
// the caller should Open it and Seal it again. It reads only the value's
// header and format, not its authenticity; a malformed value reports true so
// that a sweep over stored values goes on to Open it and surfaces the error
// instead of skipping it.
func (r *Ring) NeedsRotation(sealed string) bool {
	id, _, ok := parse(sealed)
	return !ok || id != r.current
}

// fullAAD also authenticates the version and key id, so a value cannot be
// relabelled to another key or a later format and still open.
// The id cannot contain '.', so the caller's aad starts at an unambiguous
// place.
func fullAAD(id string, aad []byte) []byte {
	out := make([]byte, 0, len(version)+1+len(id)+1+len(aad))
	out = append(out, version...)
	out = append(out, '.')
	out = append(out, id...)
	out = append(out, '.')
	return append(out, aad...)
}

// parse splits and decodes sealed, accepting exactly one text form per
// payload: any other spelling of the same bytes (padding, line breaks,
// non-zero trailing bits) is refused rather than silently accepted.
func parse(sealed string) (id string, payload []byte, ok bool) {
	rest, found := strings.CutPrefix(sealed, version+".")
	if !found {
		return "", nil, false
	}
	id, enc, found := strings.Cut(rest, ".")
	if !found || !validID(id) || !base64URLOnly(enc) {
		return "", nil, false
	}
	payload, err := base64.RawURLEncoding.Strict().DecodeString(enc)
	if err != nil || len(payload) < overhead {
		return "", nil, false
	}
	return id, payload, true
}

func validID(id string) bool {
	if len(id) == 0 || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !idChar(id[i]) {
			return false
		}
	}
	return true
}

func idChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// base64URLOnly rejects the '\r' and '\n' that the base64 decoder would
// otherwise skip.
func base64URLOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if !idChar(s[i]) {
			return false
		}
	}
	return true
}

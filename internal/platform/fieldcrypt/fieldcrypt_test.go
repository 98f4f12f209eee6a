package fieldcrypt_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"secureapi/internal/platform/fieldcrypt"
)

func key(id string, fill byte) fieldcrypt.Key {
	return fieldcrypt.Key{ID: id, Key: bytes.Repeat([]byte{fill}, fieldcrypt.KeySize)}
}

func newRing(t testing.TB, keys ...fieldcrypt.Key) *fieldcrypt.Ring {
	t.Helper()
	r, err := fieldcrypt.NewRing(keys)
	if err != nil {
		t.Fatalf("NewRing: %v", err)
	}
	return r
}

func seal(t testing.TB, r *fieldcrypt.Ring, plaintext, aad string) string {
	t.Helper()
	s, err := r.Seal([]byte(plaintext), []byte(aad))
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return s
}

// payload decodes the base64 part of a sealed value; reencode puts it back.
func payload(t *testing.T, sealed string) (prefix string, raw []byte) {
	t.Helper()
	i := strings.LastIndexByte(sealed, '.')
	raw, err := base64.RawURLEncoding.DecodeString(sealed[i+1:])
	if err != nil {
		t.Fatalf("decoding %q: %v", sealed, err)
	}
	return sealed[:i+1], raw
}

func reencode(prefix string, raw []byte) string {
	return prefix + base64.RawURLEncoding.EncodeToString(raw)
}

func TestSealOpenRoundTrip(t *testing.T) {
	r := newRing(t, key("k1", 1))
	tests := []struct {
		name      string
		plaintext []byte
		aad       []byte
	}{
		{"mfa seed", []byte("JBSWY3DPEHPK3PXP"), []byte("users.mfa_seed:42")},
		{"empty plaintext", []byte{}, []byte("users.mfa_seed:42")},
		{"empty aad", []byte("token"), nil},
		{"binary", []byte{0, 1, 2, 0xff, '.', '\n'}, []byte{0, '.', 0xff}},
		{"large", bytes.Repeat([]byte("x"), 1<<16), []byte("t:1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := r.Seal(tt.plaintext, tt.aad)
			if err != nil {
				t.Fatalf("Seal: %v", err)
			}
			if !strings.HasPrefix(sealed, "v1.k1.") {
				t.Errorf("sealed = %q, want prefix v1.k1.", sealed)
			}
			if strings.ContainsAny(sealed, "+/=\n\r ") {
				t.Errorf("sealed %q is not compact base64url", sealed)
			}
			_, raw := payload(t, sealed)
			if want := 12 + len(tt.plaintext) + 16; len(raw) != want {
				t.Errorf("payload is %d bytes, want nonce+ciphertext+tag = %d", len(raw), want)
			}
			got, err := r.Open(sealed, tt.aad)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, tt.plaintext) || got == nil {
				t.Errorf("Open = %q, want %q (non-nil)", got, tt.plaintext)
			}
			if r.NeedsRotation(sealed) {
				t.Error("NeedsRotation = true for a value sealed with the current key")
			}
		})
	}
}

func TestSealIsRandomized(t *testing.T) {
	r := newRing(t, key("k1", 1))
	a := seal(t, r, "same secret", "users.mfa_seed:1")
	b := seal(t, r, "same secret", "users.mfa_seed:1")
	if a == b {
		t.Fatalf("two seals of the same plaintext are equal: %q", a)
	}
	_, ra := payload(t, a)
	_, rb := payload(t, b)
	if bytes.Equal(ra[:12], rb[:12]) {
		t.Errorf("two seals share a nonce: %x", ra[:12])
	}
}

func TestOpenRejects(t *testing.T) {
	r := newRing(t, key("k1", 1), key("k2", 2))
	const aad = "users.mfa_seed:42"
	good := seal(t, r, "JBSWY3DPEHPK3PXP", aad)
	prefix, raw := payload(t, good)

	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 0x01
		return reencode(prefix, b)
	}
	// The same bytes under another key id that the ring also holds.
	relabelled := strings.Replace(good, "v1.k1.", "v1.k2.", 1)
	// Base64 of the payload with non-zero unused trailing bits decodes to
	// the same bytes with a lenient decoder; only one spelling is accepted.
	enc := good[len(prefix):]
	var sloppy string
	if len(raw)%3 != 0 {
		last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", enc[len(enc)-1])
		sloppy = prefix + enc[:len(enc)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last|1])
	}

	tests := []struct {
		name   string
		sealed string
		aad    string
	}{
		{"wrong aad", good, "users.mfa_seed:43"},
		{"aad of another column", good, "users.api_token:42"},
		{"empty aad", good, ""},
		{"flipped nonce byte", flip(0), aad},
		{"flipped last nonce byte", flip(11), aad},
		{"flipped ciphertext byte", flip(12), aad},
		{"flipped tag byte", flip(len(raw) - 1), aad},
		{"relabelled to another key", relabelled, aad},
		{"truncated by one byte", reencode(prefix, raw[:len(raw)-1]), aad},
		{"truncated to tag size", reencode(prefix, raw[:28]), aad},
		{"shorter than nonce and tag", reencode(prefix, raw[:27]), aad},
		{"truncated text", good[:len(good)-5], aad},
		{"no payload", "v1.k1.", aad},
		{"no payload separator", "v1.k1", aad},
		{"empty string", "", aad},
		{"version only", "v1", aad},
		{"wrong version", "v2" + good[2:], aad},
		{"upper-case version", "V1" + good[2:], aad},
		{"missing version", good[3:], aad},
		{"empty key id", "v1.." + good[len(prefix):], aad},
		{"bad key id", "v1.k 1." + good[len(prefix):], aad},
		{"key id too long", "v1." + strings.Repeat("k", 33) + "." + good[len(prefix):], aad},
		{"extra segment", good + ".x", aad},
		{"bad base64", prefix + "!!!!" + good[len(prefix)+4:], aad},
		{"standard base64 alphabet", prefix + strings.NewReplacer("-", "+", "_", "/").Replace(enc) + "+/", aad},
		{"padded base64", good + "==", aad},
		{"line break in payload", prefix + enc[:10] + "\n" + enc[10:], aad},
		{"carriage return in payload", prefix + enc[:10] + "\r" + enc[10:], aad},
		{"leading space", " " + good, aad},
		{"trailing newline", good + "\n", aad},
		{"non-canonical trailing bits", sloppy, aad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.sealed == "" && tt.name != "empty string" {
				t.Skip("case not applicable to this payload length")
			}
			got, err := r.Open(tt.sealed, []byte(tt.aad))
			if err != fieldcrypt.ErrInvalid {
				t.Fatalf("Open(%q) error = %v, want exactly ErrInvalid", tt.sealed, err)
			}
			if got != nil {
				t.Errorf("Open returned %q along with an error", got)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	const aad = "integrations.token:7"
	old := newRing(t, key("2024a", 1))
	sealedOld := seal(t, old, "api-token", aad)

	// Rotation: the new key is prepended, the old one stays for decryption.
	rotated := newRing(t, key("2025a", 2), key("2024a", 1))
	if got := rotated.CurrentKeyID(); got != "2025a" {
		t.Fatalf("CurrentKeyID = %q, want 2025a", got)
	}
	got, err := rotated.Open(sealedOld, []byte(aad))
	if err != nil {
		t.Fatalf("Open old value after rotation: %v", err)
	}
	if string(got) != "api-token" {
		t.Fatalf("Open = %q, want api-token", got)
	}
	if !rotated.NeedsRotation(sealedOld) {
		t.Error("NeedsRotation(old value) = false, want true")
	}

	resealed := seal(t, rotated, string(got), aad)
	if !strings.HasPrefix(resealed, "v1.2025a.") {
		t.Errorf("re-sealed value %q does not use the new key id", resealed)
	}
	if rotated.NeedsRotation(resealed) {
		t.Error("NeedsRotation(re-sealed value) = true, want false")
	}
	if got, err := rotated.Open(resealed, []byte(aad)); err != nil || string(got) != "api-token" {
		t.Errorf("Open(re-sealed) = %q, %v", got, err)
	}

	// Once the old key is retired, values still under it are reported as
	// such rather than as tampered.
	retired := newRing(t, key("2025a", 2))
	if _, err := retired.Open(sealedOld, []byte(aad)); !errors.Is(err, fieldcrypt.ErrUnknownKey) {
		t.Errorf("Open after retiring key: error = %v, want ErrUnknownKey", err)
	}
	if got, err := retired.Open(resealed, []byte(aad)); err != nil || string(got) != "api-token" {
		t.Errorf("Open(re-sealed) after retiring old key = %q, %v", got, err)
	}
}

func TestNeedsRotation(t *testing.T) {
	r := newRing(t, key("new", 2), key("old", 1))
	current := seal(t, r, "s", "a")
	fromOld := seal(t, newRing(t, key("old", 1)), "s", "a")
	fromGone := seal(t, newRing(t, key("gone", 3)), "s", "a")
	tests := []struct {
		name   string
		sealed string
		want   bool
	}{
		{"current key", current, false},
		{"older key in ring", fromOld, true},
		{"key not in ring", fromGone, true},
		{"malformed", "v1.new.!!", true},
		{"empty", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.NeedsRotation(tt.sealed); got != tt.want {
				t.Errorf("NeedsRotation(%q) = %v, want %v", tt.sealed, got, tt.want)
			}
		})
	}
}

func TestKeyIDIsAuthenticated(t *testing.T) {
	// Two ids for the same key material: without binding the id into the
	// authenticated data a value could be relabelled and still open.
	r := newRing(t, key("a", 1), key("b", 1))
	sealed := seal(t, r, "secret", "row:1")
	relabelled := strings.Replace(sealed, "v1.a.", "v1.b.", 1)
	if _, err := r.Open(relabelled, []byte("row:1")); err != fieldcrypt.ErrInvalid {
		t.Fatalf("Open(relabelled) error = %v, want ErrInvalid", err)
	}
}

func TestOpenUnknownKey(t *testing.T) {
	r := newRing(t, key("k1", 1))
	other := seal(t, newRing(t, key("k9", 9)), "secret", "a")
	_, err := r.Open(other, []byte("a"))
	if !errors.Is(err, fieldcrypt.ErrUnknownKey) {
		t.Fatalf("error = %v, want ErrUnknownKey", err)
	}
	if errors.Is(err, fieldcrypt.ErrInvalid) {
		t.Error("unknown key also reported as ErrInvalid")
	}
	if !strings.Contains(err.Error(), `"k9"`) {
		t.Errorf("error %q does not name the missing key id", err)
	}
}

func TestNewRing(t *testing.T) {
	tests := []struct {
		name    string
		keys    []fieldcrypt.Key
		wantErr string
	}{
		{"one key", []fieldcrypt.Key{key("k1", 1)}, ""},
		{"several keys", []fieldcrypt.Key{key("k1", 1), key("k-2", 2), key("K_3", 3)}, ""},
		{"longest id", []fieldcrypt.Key{key(strings.Repeat("a", 32), 1)}, ""},
		{"nil", nil, "empty"},
		{"empty", []fieldcrypt.Key{}, "empty"},
		{"short key", []fieldcrypt.Key{{ID: "k1", Key: make([]byte, 16)}}, "16 bytes"},
		{"long key", []fieldcrypt.Key{{ID: "k1", Key: make([]byte, 33)}}, "33 bytes"},
		{"nil key", []fieldcrypt.Key{{ID: "k1"}}, "0 bytes"},
		{"bad later key", []fieldcrypt.Key{key("k1", 1), {ID: "k2", Key: make([]byte, 24)}}, "24 bytes"},
		{"duplicate id", []fieldcrypt.Key{key("k1", 1), key("k1", 2)}, "more than once"},
		{"empty id", []fieldcrypt.Key{key("", 1)}, "id must be"},
		{"id too long", []fieldcrypt.Key{key(strings.Repeat("a", 33), 1)}, "id must be"},
		{"id with dot", []fieldcrypt.Key{key("k.1", 1)}, "id must be"},
		{"id with colon", []fieldcrypt.Key{key("k:1", 1)}, "id must be"},
		{"id with space", []fieldcrypt.Key{key("k 1", 1)}, "id must be"},
		{"non-ascii id", []fieldcrypt.Key{key("clé", 1)}, "id must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := fieldcrypt.NewRing(tt.keys)
			if tt.wantErr == "" {
				if err != nil || r == nil {
					t.Fatalf("NewRing = %v, %v; want a ring", r, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewRing error = %v, want one containing %q", err, tt.wantErr)
			}
			if r != nil {
				t.Error("NewRing returned a ring along with an error")
			}
		})
	}
}

func TestKeyMaterialNeverPrinted(t *testing.T) {
	k := fieldcrypt.Key{ID: "k1", Key: bytes.Repeat([]byte{0xAB}, 32)}
	r := newRing(t, k, key("k0", 0xCD))
	for _, s := range []string{
		fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k),
		fmt.Sprint(r), fmt.Sprintf("%v %+v %#v %s", r, r, r, r),
		fmt.Sprintf("%v %+v", []fieldcrypt.Key{k}, []fieldcrypt.Key{k}),
	} {
		if strings.Contains(s, "171") || strings.Contains(strings.ToLower(s), "abab") || strings.Contains(s, "205") {
			t.Errorf("key material printed: %s", s)
		}
		if !strings.Contains(s, "k1") {
			t.Errorf("key id missing from %s", s)
		}
	}
}

func TestKeyNotRetained(t *testing.T) {
	k := key("k1", 1)
	r := newRing(t, k)
	sealed := seal(t, r, "secret", "a")
	clear(k.Key) // callers may wipe configuration after building the ring
	if got, err := r.Open(sealed, []byte("a")); err != nil || string(got) != "secret" {
		t.Fatalf("Open after wiping the caller's key = %q, %v", got, err)
	}
	fresh := newRing(t, key("k1", 1))
	if got, err := fresh.Open(seal(t, r, "again", "a"), []byte("a")); err != nil || string(got) != "again" {
		t.Fatalf("value sealed after wiping does not open under the original key: %q, %v", got, err)
	}
}

func TestConcurrentUse(t *testing.T) {
	r := newRing(t, key("k1", 1))
	done := make(chan error)
	for g := range 8 {
		go func() {
			aad := fmt.Sprintf("row:%d", g)
			for i := range 200 {
				want := fmt.Sprintf("secret %d/%d", g, i)
				s, err := r.Seal([]byte(want), []byte(aad))
				if err != nil {
					done <- err
					return
				}
				got, err := r.Open(s, []byte(aad))
				if err != nil || string(got) != want {
					done <- fmt.Errorf("Open = %q, %v; want %q", got, err, want)
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// FuzzOpen checks that no input makes Open panic, that it only ever reports
// the two documented errors, and that whatever opens is in the one text form
// Seal writes, under an aad something was sealed with: every other spelling
// of the same bytes is refused. (The fuzzing workers are separate processes
// with their own random nonces, so the exact seed values cannot be listed.)
func FuzzOpen(f *testing.F) {
	r := newRing(f, key("k1", 1), key("old", 2))
	oldRing := newRing(f, key("old", 2))
	aads := map[string]bool{}
	for _, p := range []struct {
		ring           *fieldcrypt.Ring
		plaintext, aad string
	}{
		{r, "JBSWY3DPEHPK3PXP", "users.mfa_seed:42"},
		{r, "", ""},
		{r, "x", "a"},
		{oldRing, "legacy", "b"},
	} {
		aads[p.aad] = true
		s := seal(f, p.ring, p.plaintext, p.aad)
		f.Add(s, p.aad)
		f.Add(s[:len(s)-1], p.aad)
		f.Add(s+"=", p.aad)
		f.Add(strings.Replace(s, "k1", "old", 1), p.aad)
	}
	f.Add("", "")
	f.Add("v1..", "")
	f.Add("v1.k1.", "a")
	f.Add("v1.missing.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "a")

	f.Fuzz(func(t *testing.T, sealed, aad string) {
		got, err := r.Open(sealed, []byte(aad))
		needs := r.NeedsRotation(sealed)
		if err != nil {
			if err != fieldcrypt.ErrInvalid && !errors.Is(err, fieldcrypt.ErrUnknownKey) {
				t.Fatalf("Open(%q) returned undocumented error %v", sealed, err)
			}
			if got != nil {
				t.Fatalf("Open(%q) returned data with an error", sealed)
			}
			return
		}
		if !aads[aad] {
			t.Fatalf("Open(%q) accepted aad %q, which nothing was sealed with", sealed, aad)
		}
		parts := strings.Split(sealed, ".")
		if len(parts) != 3 || parts[0] != "v1" {
			t.Fatalf("Open accepted %q, which is not v1.<id>.<payload>", sealed)
		}
		raw, derr := base64.RawURLEncoding.DecodeString(parts[2])
		if derr != nil || base64.RawURLEncoding.EncodeToString(raw) != parts[2] {
			t.Fatalf("Open accepted non-canonical payload in %q", sealed)
		}
		if needs != (parts[1] != "k1") {
			t.Fatalf("NeedsRotation(%q) = %v for key id %q", sealed, needs, parts[1])
		}
	})
}

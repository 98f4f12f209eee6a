// Package totp holds the time-based one-time password mechanics (RFC 6238)
// the service uses for two-factor logins: new secrets with their otpauth://
// URI and QR code, code checks that report which time step matched (so a
// caller can refuse a replay), and single-use recovery codes.
//
// The parameters are the ones every authenticator app understands: SHA-1,
// six digits, 30-second steps, a 160-bit secret.
package totp

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

const (
	// Period is the length of one time step.
	Period = 30 * time.Second
	// Digits is the length of a code.
	Digits = 6
	// Skew is how many steps before and after the current one are accepted,
	// for clocks that drift and users who type slowly.
	Skew = 1
	// secretBytes is RFC 4226's recommended secret length.
	secretBytes = 20
	// qrSize is the QR code's width and height in pixels.
	qrSize = 256
)

var opts = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// ErrInvalidSecret means a secret is not base32 or is too short.
var ErrInvalidSecret = errors.New("totp: secret must be base32 of at least 16 bytes")

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Key is a new TOTP secret and how an authenticator app takes it in.
type Key struct {
	// Secret is the base32 secret (no padding) the user may type in by hand.
	Secret string
	// URI is the otpauth:// URI that QR codes carry.
	URI string
}

// Generate returns a new random secret for account (usually an email
// address) labelled with issuer in authenticator apps.
func Generate(issuer, account string) (Key, error) {
	k, err := totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: account, SecretSize: secretBytes,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Period: uint(Period / time.Second),
	})
	if err != nil {
		return Key{}, err
	}
	return Key{Secret: k.Secret(), URI: k.URL()}, nil
}

// QRCodeDataURL renders uri as a PNG QR code in a data: URL, generated
// locally so the secret never reaches a third-party QR service.
func QRCodeDataURL(uri string) (string, error) {
	k, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return "", err
	}
	img, err := k.Image(qrSize, qrSize)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// Step is the time step t falls in.
func Step(t time.Time) int64 { return t.Unix() / int64(Period/time.Second) }

// Code returns the code for secret at time t.
func Code(secret string, t time.Time) (string, error) {
	if err := checkSecret(secret); err != nil {
		return "", err
	}
	return hotp.GenerateCodeCustom(secret, uint64(Step(t)), opts)
}

// Match checks code against secret at time t, within Skew steps either
// side, accepting only steps after lastStep: a code, once used, is refused
// for the rest of its validity, and so is every earlier one. It returns the
// step that matched. Every candidate step is compared in constant time, so
// the answer's timing does not tell which step was closest.
func Match(secret, code string, t time.Time, lastStep int64) (step int64, ok bool, err error) {
	if err := checkSecret(secret); err != nil {
		return 0, false, err
	}
	code = NormalizeCode(code)
	if len(code) != Digits {
		return 0, false, nil
	}
	now := Step(t)
	for s := now - Skew; s <= now+Skew; s++ {
		want, err := hotp.GenerateCodeCustom(secret, uint64(s), opts)
		if err != nil {
			return 0, false, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && s > lastStep && !ok {
			step, ok = s, true
		}
	}
	return step, ok, nil
}

// NormalizeCode drops the spaces and dashes apps show codes with ("123 456").
func NormalizeCode(code string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, code)
}

func checkSecret(secret string) error {
	b, err := b32.DecodeString(strings.ToUpper(strings.TrimRight(strings.TrimSpace(secret), "=")))
	if err != nil || len(b) < 16 {
		return ErrInvalidSecret
	}
	return nil
}

// RecoveryCodeCount is how many recovery codes a set has.
const RecoveryCodeCount = 10

// recoveryEncoding is lower-case RFC 4648 base32: letters and 2..7, no 0, 1,
// 8 or 9 to be confused with o, l, b or g.
var recoveryEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewRecoveryCodes returns RecoveryCodeCount codes of 80 random bits each,
// shown as four groups of four characters ("k3xq-7mfa-2bz9-..."), so a
// stored SHA-256 of one cannot be reversed by trying every code.
func NewRecoveryCodes() ([]string, error) {
	out := make([]string, RecoveryCodeCount)
	for i := range out {
		b := make([]byte, 10)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		s := recoveryEncoding.EncodeToString(b) // 16 characters
		out[i] = s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
	}
	return out, nil
}

// HashRecoveryCode is the stored form of a recovery code of one account:
// SHA-256 over the account id and the code without case or separators, so
// the same code typed in any spelling matches, and equal codes of two
// accounts hash differently.
func HashRecoveryCode(userID, code string) string {
	norm := strings.ToLower(NormalizeCode(strings.TrimSpace(code)))
	sum := sha256.Sum256([]byte(userID + "\x00" + norm))
	return hex.EncodeToString(sum[:])
}

// Package pat holds personal access tokens: long-lived, scoped, revocable
// bearer tokens an account creates for its scripts and integrations.
package pat

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"hash/crc32"
	"math/big"
	"strings"
)

// Prefix starts every token, so people, logs and secret scanners recognise one.
const Prefix = "sapat_"

const (
	base62      = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	randomLen   = 30 // 30 base62 characters: about 178 random bits
	checksumLen = 6  // CRC32 in base62, zero-padded
	// TokenLen is the length of every token.
	TokenLen = len(Prefix) + randomLen + checksumLen
)

// generate returns a new token: Prefix, randomLen random base62 characters
// and the checksum of both.
func generate() (string, error) {
	var b strings.Builder
	b.Grow(TokenLen)
	b.WriteString(Prefix)
	max := big.NewInt(int64(len(base62)))
	for range randomLen {
		n, err := rand.Int(rand.Reader, max) // uniform, no modulo bias
		if err != nil {
			return "", err
		}
		b.WriteByte(base62[n.Int64()])
	}
	b.WriteString(checksum(b.String()))
	return b.String(), nil
}

// checksum is the CRC32 of s in checksumLen base62 digits. It is no secret:
// it lets a scanner, or the server before any database read, tell a real
// token from a typo or a random string.
func checksum(s string) string {
	v := uint64(crc32.ChecksumIEEE([]byte(s)))
	out := make([]byte, checksumLen)
	for i := checksumLen - 1; i >= 0; i-- {
		out[i] = base62[v%62]
		v /= 62
	}
	return string(out)
}

// LooksLike reports whether s is meant as a personal access token (it has
// the prefix), valid or not; such a credential is never tried as a JWT.
func LooksLike(s string) bool { return strings.HasPrefix(s, Prefix) }

// Valid reports whether s has a token's exact form and a matching checksum.
func Valid(s string) bool {
	if len(s) != TokenLen || !LooksLike(s) {
		return false
	}
	for i := len(Prefix); i < len(s); i++ {
		if strings.IndexByte(base62, s[i]) < 0 {
			return false
		}
	}
	body := s[:len(s)-checksumLen]
	return checksum(body) == s[len(body):]
}

// hash is the stored form of a token: its 178 random bits leave nothing to
// brute-force, so a fast hash is enough.
func hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

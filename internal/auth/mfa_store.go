package auth

import (
	"context"
	"time"
)

// TOTP is an account's TOTP factor. Secret is the sealed seed as stored
// (fieldcrypt), never the plain one. ConfirmedAt is nil while the factor
// waits for its first code; LastUsedStep is the time step of the last code
// accepted, so no code is accepted twice.
type TOTP struct {
	UserID       string
	Secret       string
	ConfirmedAt  *time.Time
	LastUsedStep int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// SealedSecret is one stored seed, for re-encryption under a new key.
type SealedSecret struct {
	UserID string
	Secret string
}

// MFAChallenge is the pending second step of a login, known by the hash of
// its token. PasswordFP fingerprints the password hash that passed the first
// step, so that a password change voids it.
type MFAChallenge struct {
	Hash       string
	UserID     string
	PasswordFP string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	UsedAt     *time.Time
}

// MFAStore persists second factors, recovery codes and login challenges.
// Lookups of a missing row return ErrNotFound. Changes that belong together
// run in a unit of work (Stores.MFA).
type MFAStore interface {
	TOTP(ctx context.Context, userID string) (TOTP, error)
	// StartTOTP stores a pending factor, replacing a pending one; false when a confirmed factor exists.
	StartTOTP(ctx context.Context, userID, sealed string, now time.Time) (bool, error)
	// ConfirmTOTP confirms the pending factor whose sealed secret is sealed; false when there is none.
	ConfirmTOTP(ctx context.Context, userID, sealed string, step int64, now time.Time) (bool, error)
	// UseTOTPStep records step as used when it is later than the last used one; false otherwise.
	UseTOTPStep(ctx context.Context, userID string, step int64, now time.Time) (bool, error)
	// ResealTOTP replaces oldSealed with newSealed; false when the stored value is no longer oldSealed.
	ResealTOTP(ctx context.Context, userID, oldSealed, newSealed string) (bool, error)
	DeleteTOTP(ctx context.Context, userID string) (bool, error)
	// TOTPSecretsAfter pages through every stored seed in user id order.
	TOTPSecretsAfter(ctx context.Context, afterUserID string, limit int) ([]SealedSecret, error)
	CountConfirmedTOTP(ctx context.Context) (int64, error)
	// ConfirmedTOTPInRange lists the accounts with ids in lo..hi that have a confirmed factor.
	ConfirmedTOTPInRange(ctx context.Context, lo, hi string) ([]string, error)

	// ReplaceRecoveryCodes deletes userID's recovery codes and stores hashes instead.
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, now time.Time) error
	// UseRecoveryCode marks an unused code used; false when there is none with that hash.
	UseRecoveryCode(ctx context.Context, userID, hash string, now time.Time) (bool, error)
	CountRecoveryCodes(ctx context.Context, userID string) (int64, error)
	DeleteRecoveryCodes(ctx context.Context, userID string) error

	CreateMFAChallenge(ctx context.Context, c MFAChallenge) error
	MFAChallenge(ctx context.Context, hash string) (MFAChallenge, error)
	// ConsumeMFAChallenge marks an unexpired, unused challenge used; false otherwise.
	ConsumeMFAChallenge(ctx context.Context, hash string, now time.Time) (bool, error)
	// DeleteSpentMFAChallenges removes userID's used and expired challenges.
	DeleteSpentMFAChallenges(ctx context.Context, userID string, now time.Time) error
	DeleteMFAChallenges(ctx context.Context, userID string) error
}

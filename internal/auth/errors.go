package auth

import (
	"time"

	"secureapi/internal/platform/apperr"
)

var (
	// ErrInvalidCredentials answers every failed login, whether the account
	// is unknown, the password wrong or the account deactivated, so that
	// the response never tells which accounts exist.
	ErrInvalidCredentials = apperr.New(apperr.Unauthorized, "Invalid email or password.")
	// ErrUnauthorized answers a request whose access token is missing,
	// invalid, expired or belongs to a revoked session.
	ErrUnauthorized = apperr.New(apperr.Unauthorized, "Missing, invalid or expired access token.")
	// ErrInvalidRefresh answers a refresh with a missing, unknown, reused or
	// revoked refresh token.
	ErrInvalidRefresh = apperr.New(apperr.Unauthorized, "Missing, invalid or expired refresh token.")
	// ErrEmailUnverified answers a login with the right password to an
	// account that has not verified its address while that is required.
	ErrEmailUnverified = apperr.New(apperr.Unverified, "Verify your email address first: a new link is on its way to it.")
	// ErrInvalidMailToken names the token field of a request that presented
	// an unknown, spent, expired, superseded or foreign mailed token.
	ErrInvalidMailToken = apperr.Field("body", "token", "The token is invalid or has expired.")
)

// errBusy refuses a request that needs a password hash while the hasher is
// saturated (a login flood): a 429, since the server is healthy and only
// this client's request must wait its turn; it may retry after a second.
var errBusy = apperr.Retry(apperr.TooManyRequests, "The server is busy checking other passwords. Retry in 1 s.", time.Second)

// lockedError is the answer while an account's failure budget is spent.
type lockedError struct{ err *apperr.Error }

func (e *lockedError) Error() string { return e.err.Error() }
func (e *lockedError) Unwrap() error { return e.err }

func errLocked(remaining time.Duration) error {
	// Whole seconds, rounded up, so a client that waits exactly Retry-After
	// is never still locked out.
	return &lockedError{apperr.Retry(apperr.TooManyRequests, "Too many failed password attempts. Try again later.",
		(remaining + time.Second - 1).Truncate(time.Second))}
}

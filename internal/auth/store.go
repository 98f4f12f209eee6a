package auth

import (
	"context"
	"time"

	"secureapi/internal/audit"
	"secureapi/internal/mail"
	"secureapi/internal/pat"
	"secureapi/internal/platform/apperr"
	"secureapi/internal/user"
)

// Session is one login of one account.
type Session struct {
	ID           string
	UserID       string
	UserAgent    string
	IP           string
	CreatedAt    time.Time
	LastUsedAt   time.Time
	ExpiresAt    time.Time
	RevokedAt    *time.Time
	RevokeReason *string
}

// RefreshToken is a refresh token a session was given, known only by its hash.
// ReplacedAt is nil for the session's current token.
type RefreshToken struct {
	Hash       string
	SessionID  string
	IssuedAt   time.Time
	ReplacedAt *time.Time
}

// State is what every authenticated request checks about its session.
type State struct {
	UserID    string
	RevokedAt *time.Time
	ExpiresAt time.Time
	IsActive  bool
	Role      string
}

// Throttle counts failed logins for one key (a hash of the email).
type Throttle struct {
	Key            string
	Failures       int64
	FirstFailureAt time.Time
	LockedUntil    *time.Time
}

var ErrNotFound = apperr.New(apperr.NotFound, "No such session.")

// Store persists credentials other than passwords: sessions, refresh
// tokens, login throttles and mailed tokens.
type Store interface {
	CreateSession(ctx context.Context, s Session) (Session, error)
	Session(ctx context.Context, id string) (Session, error)
	ActiveSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)
	TouchSession(ctx context.Context, id, ip, userAgent string, at time.Time) error
	// RevokeSession revokes one live session of userID; false when there was none.
	RevokeSession(ctx context.Context, userID, id, reason string, at time.Time) (bool, error)
	// RevokeUserSessions revokes every live session of userID except exceptID ("" for none) and returns their ids.
	RevokeUserSessions(ctx context.Context, userID, exceptID, reason string, at time.Time) ([]string, error)
	State(ctx context.Context, sessionID string) (State, error)

	InsertRefreshToken(ctx context.Context, t RefreshToken) error
	RefreshToken(ctx context.Context, hash string) (RefreshToken, error)
	CurrentRefreshToken(ctx context.Context, sessionID string) (RefreshToken, error)
	// MarkReplaced marks hash replaced only if it is still current; false when another caller got there first.
	MarkReplaced(ctx context.Context, hash string, at time.Time) (bool, error)

	Throttle(ctx context.Context, key string) (Throttle, error)
	// LockThrottle returns key's row, creating it with no failures, and locks
	// it until the transaction ends so that concurrent attempts on every
	// instance count one after another. Use it inside a unit of work.
	LockThrottle(ctx context.Context, key string, now time.Time) (Throttle, error)
	SaveThrottle(ctx context.Context, t Throttle) error
	ClearThrottle(ctx context.Context, key string) error

	CreateMailToken(ctx context.Context, t MailToken) error
	// ConsumeMailToken marks an unexpired, unused token of purpose used and
	// returns it (account and address); ErrNotFound otherwise.
	ConsumeMailToken(ctx context.Context, purpose MailPurpose, hash string, now time.Time) (MailToken, error)
	// DeleteMailTokens voids userID's tokens of purpose ("" for every purpose).
	DeleteMailTokens(ctx context.Context, userID string, purpose MailPurpose) error
}

// Stores are the stores the auth service reaches in one unit of work, all
// bound to its transaction.
type Stores interface {
	Users() user.Store
	Credentials() Store
	// MFA holds second factors, turned on and off with the sessions they revoke.
	MFA() MFAStore
	// AccessTokens are revoked with the sessions when a password changes.
	AccessTokens() pat.Store
	Outbox() mail.Store
	Audit() audit.Store
}

// UnitOfWork runs fn in one transaction: commit when fn returns nil, roll
// back otherwise. fn must use only the Stores it is given (on SQLite the
// single writer connection is held until fn returns).
type UnitOfWork interface {
	InTx(ctx context.Context, fn func(Stores) error) error
}

// MailPurpose is what a mailed token allows.
type MailPurpose string

const (
	PurposePasswordReset MailPurpose = "password_reset"
	PurposeEmailChange   MailPurpose = "email_change"
	PurposeEmailVerify   MailPurpose = "email_verify"
)

// MailToken is a single-use token sent by mail, known only by its hash.
// Email is the address it proves (the new address of an email change, the
// address being verified); empty for password resets.
type MailToken struct {
	Hash      string
	UserID    string
	Purpose   MailPurpose
	Email     string
	CreatedAt time.Time
	ExpiresAt time.Time
}

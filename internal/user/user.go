// Package user holds accounts: their rules (who may change what) and the
// storage interface they need.
package user

import (
	"context"
	"errors"
	"time"

	"secureapi/internal/audit"
	"secureapi/internal/file"
	"secureapi/internal/identity"
	"secureapi/internal/pat"
	"secureapi/internal/platform/apperr"
)

// Role is an account's authority level.
type Role string

const (
	RoleUser  Role = "user"
	RoleAdmin Role = "admin"
)

// User is an account. Email and Username are stored normalized (lower case).
type User struct {
	ID           string
	Email        string
	Username     string
	DisplayName  *string
	PasswordHash string
	Role         Role
	IsActive     bool
	// EmailVerifiedAt is when the account last proved it receives mail at
	// Email; nil until then.
	EmailVerifiedAt *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

var (
	ErrNotFound = apperr.New(apperr.NotFound, "No such user.")
	// ErrCallerGone is the answer to a caller whose own account was deleted
	// after its access token was checked: the token is no longer good.
	ErrCallerGone    = apperr.New(apperr.Unauthorized, "Missing, invalid or expired access token.")
	ErrEmailTaken    = apperr.New(apperr.Conflict, "This email is already registered.")
	ErrUsernameTaken = apperr.New(apperr.Conflict, "This username is already taken.")
)

// ListFilter selects a page of accounts, newest first. Zero values do not filter.
type ListFilter struct {
	Q      string
	Role   Role
	Active *bool
	// Before is the id after which the page starts (ids are time ordered); "" starts at the newest.
	Before string
	Limit  int
}

// Store persists accounts.
type Store interface {
	Create(ctx context.Context, u User) (User, error)
	ByID(ctx context.Context, id string) (User, error)
	ByEmail(ctx context.Context, email string) (User, error)
	Update(ctx context.Context, u User) (User, error)
	SetPasswordHash(ctx context.Context, id, hash string, at time.Time) error
	Delete(ctx context.Context, id string) error
	List(ctx context.Context, f ListFilter) ([]User, error)
	CountActiveAdmins(ctx context.Context) (int64, error)
}

// SessionRevoker ends an account's sessions.
type SessionRevoker interface {
	// RevokeUserSessions revokes every live session of userID except
	// exceptID ("" for none) and returns the revoked ids.
	RevokeUserSessions(ctx context.Context, userID, exceptID, reason string, at time.Time) ([]string, error)
}

// Stores are the stores the account service reaches in one unit of work,
// all bound to its transaction.
type Stores interface {
	Users() Store
	Sessions() SessionRevoker
	// AccessTokens are revoked with the sessions on deactivation.
	AccessTokens() pat.Store
	Files() file.Store
	Audit() audit.Store
}

// UnitOfWork runs fn in one transaction: commit when fn returns nil, roll
// back otherwise. fn must use only the Stores it is given (on SQLite the
// single writer connection is held until fn returns).
type UnitOfWork interface {
	InTx(ctx context.Context, fn func(Stores) error) error
}

// Self returns the caller's own account. An account deleted since the
// caller's token was checked is ErrCallerGone (401), not a 404.
func Self(ctx context.Context, st Store, p identity.Principal) (User, error) {
	u, err := st.ByID(ctx, p.UserID)
	if errors.Is(err, ErrNotFound) {
		return User{}, ErrCallerGone
	}
	return u, err
}

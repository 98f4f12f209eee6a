package pat

import (
	"context"
	"time"

	"secureapi/internal/platform/apperr"
)

// Token is a personal access token as its owner sees it; the secret itself
// is shown once at creation and stored only as a hash.
type Token struct {
	ID         string
	UserID     string
	Name       string
	Scopes     []string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
}

// State is what every request made with a token checks.
type State struct {
	ID         string
	UserID     string
	Scopes     []string
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
	IsActive   bool
	Role       string
}

var ErrNotFound = apperr.New(apperr.NotFound, "No such access token.")

// Store persists personal access tokens.
type Store interface {
	Create(ctx context.Context, t Token, hash string) (Token, error)
	// List returns userID's tokens that are not revoked: the live ones
	// (unexpired at now), then expired ones, each newest first, 100 at most.
	List(ctx context.Context, userID string, now time.Time) ([]Token, error)
	// CountLive counts userID's tokens that are neither revoked nor expired at now.
	CountLive(ctx context.Context, userID string, now time.Time) (int64, error)
	// State returns the token with hash and its account's state; ErrNotFound when there is none.
	State(ctx context.Context, hash string) (State, error)
	// Touch sets last_used_at to now unless it is already after staleBefore.
	Touch(ctx context.Context, id string, now, staleBefore time.Time) error
	// Revoke revokes one live token of userID; false when there was none.
	Revoke(ctx context.Context, userID, id, reason string, at time.Time) (bool, error)
	// RevokeAll revokes every live token of userID and returns their ids.
	RevokeAll(ctx context.Context, userID, reason string, at time.Time) ([]string, error)
}

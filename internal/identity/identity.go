// Package identity carries the authenticated caller of a request. It is a
// leaf package so that every domain (accounts, sessions, files) can use it
// without importing each other.
package identity

import "context"

// Principal is the authenticated caller of a request: a session's access
// token (SessionID set) or a personal access token (TokenID and Scopes set).
type Principal struct {
	UserID    string
	SessionID string
	Role      string
	TokenID   string
	Scopes    []string
}

// IsAdmin reports whether the caller has the admin role.
func (p Principal) IsAdmin() bool { return p.Role == "admin" }

type key struct{}

// With returns ctx carrying p.
func With(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, key{}, p)
}

// From returns the request's authenticated caller.
func From(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(key{}).(Principal)
	return p, ok
}

// Package auth holds logins, sessions, access and refresh tokens, failed-login
// protection and password resets.
package auth

import "secureapi/internal/identity"

// Principal is the authenticated caller (see package identity).
type Principal = identity.Principal

var (
	// WithPrincipal returns ctx carrying p.
	WithPrincipal = identity.With
	// PrincipalFrom returns the request's authenticated caller.
	PrincipalFrom = identity.From
)

// Package auth owns credentials: registration and admin creation, passwords
// (login, change, reset, the failed-attempt budget), sessions with their
// access and refresh tokens, and the mailed links that prove an address.
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

// Package api is the HTTP layer: it implements the strict server interface
// that oapi-codegen generates from openapi.yaml, wires middleware and request
// validation, and turns errors into problem+json in one place.
package api

import (
	"context"
	"log/slog"

	gen "secureapi/gen/api"
	"secureapi/internal/audit"
	"secureapi/internal/auth"
	"secureapi/internal/file"
	"secureapi/internal/pat"
	"secureapi/internal/platform/config"
	"secureapi/internal/platform/metrics"
	"secureapi/internal/platform/ratelimit"
	"secureapi/internal/platform/token"
	"secureapi/internal/user"
)

// Deps are what the HTTP layer needs; the app package builds them.
type Deps struct {
	Config *config.Config
	Log    *slog.Logger
	// Ready reports whether the service can take traffic (database answers, migrations at head).
	Ready func(ctx context.Context) error
	Keys  *token.KeyRing
	Auth  *auth.Service
	Users *user.Service
	Files *file.Service
	Audit *audit.Service
	// PATs are personal access tokens.
	PATs *pat.Service
	// Metrics, when set, records every request (served on the internal listener only).
	Metrics *metrics.Metrics
	// Limiter backs the rate limits (in memory, or Redis with an in-memory fallback).
	Limiter ratelimit.Limiter
	// View caches live sessions; requests that may write bring it up to
	// date before they answer (nil: sessions are read on every request).
	View *auth.View
}

// Server implements the generated strict server interface.
type Server struct {
	Deps
	// specIndex is openapi.yaml as the router uses it, loaded on first use
	// (read it through spec).
	specIndex func() (*specIndex, error)
}

var _ gen.StrictServerInterface = (*Server)(nil)

// caller is the authenticated principal of a request. Every operation with
// bearer security has one (the validator or the upload guard put it there);
// its absence means a route was wired without authentication, answered 401.
func caller(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok || p.UserID == "" {
		return auth.Principal{}, errMissingToken
	}
	return p, nil
}

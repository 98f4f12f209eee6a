// Package reqinfo carries facts about the current request (client IP, user
// agent, request id) in its context, for audit events, sessions and logs.
package reqinfo

import "context"

// Info describes the request that a context belongs to.
type Info struct {
	IP        string
	UserAgent string
	RequestID string
}

type key struct{}

// With returns ctx carrying info.
func With(ctx context.Context, info Info) context.Context { return context.WithValue(ctx, key{}, info) }

// From returns the request's info (zero outside a request, e.g. the CLI).
func From(ctx context.Context) Info {
	info, _ := ctx.Value(key{}).(Info)
	return info
}

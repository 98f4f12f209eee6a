// Package apperr gives errors a kind that the HTTP layer turns into a status.
//
// Services return these (usually as package-level sentinels, compared with
// errors.Is) so that one table in the API layer decides status, type and
// title, and only the Detail written here ever reaches a client.
package apperr

import (
	"errors"
	"time"
)

// Kind classifies an error for the client.
type Kind int

const (
	Invalid Kind = iota + 1
	Unauthorized
	Forbidden
	NotFound
	Conflict
	TooLarge
	Unsupported
	RangeNotSatisfiable
	TooManyRequests
	Unavailable
	// Unverified means the account has not proved its email address yet.
	Unverified
)

// FieldError names one invalid input.
type FieldError struct {
	Location string // body, query, path, header, cookie
	Field    string
	Message  string
}

// Error is a client-safe error. Detail is shown to the client verbatim.
type Error struct {
	Kind       Kind
	Detail     string
	Fields     []FieldError
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Detail }

// New returns an error of kind with a client-safe detail.
func New(kind Kind, detail string) *Error { return &Error{Kind: kind, Detail: detail} }

// Field returns a validation error for one field.
func Field(location, field, message string) *Error {
	return &Error{Kind: Invalid, Detail: "The request has 1 invalid field.", Fields: []FieldError{{location, field, message}}}
}

// Retry returns an error of kind (TooManyRequests or Unavailable) telling the client when to retry.
func Retry(kind Kind, detail string, after time.Duration) *Error {
	return &Error{Kind: kind, Detail: detail, RetryAfter: after}
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

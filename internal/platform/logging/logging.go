// Package logging builds the service's slog logger: JSON or text, with the
// request id added to every line logged with a request's context.
package logging

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"unicode/utf8"

	"secureapi/internal/platform/reqinfo"
)

// New returns a logger writing to w. level is debug|info|warn|error, format json|text.
func New(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	switch strings.ToLower(level) {
	case "debug":
		lv = slog.LevelDebug
	case "warn":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	default:
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(requestIDHandler{h})
}

// requestIDHandler adds request_id from the context unless the record has one.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := reqinfo.From(ctx).RequestID; id != "" {
		has := false
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "request_id" {
				has = true
				return false
			}
			return true
		})
		if !has {
			r.AddAttrs(slog.String("request_id", id))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// MaskEmail hides an address for logs and audit details:
// "alice@example.com" -> "a***@example.com" (the first character, whole
// even when it is multi-byte, and the domain). Never log a full email.
func MaskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return "***"
	}
	r, _ := utf8.DecodeRuneInString(local)
	return string(r) + "***@" + domain
}

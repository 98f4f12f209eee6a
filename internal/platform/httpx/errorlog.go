package httpx

import (
	"context"
	"log"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// DefaultHandshakeWarnEvery is how often at most a warning summarizes
// failed TLS handshakes.
const DefaultHandshakeWarnEvery = time.Minute

// tlsHandshakePrefix starts net/http's line for a failed TLS handshake.
const tlsHandshakePrefix = "http: TLS handshake error from "

// serverErrorLog receives net/http's own error log. Failed TLS handshakes
// are routine on a public port (scanners, clients that drop the connection,
// old protocol versions): each one is counted and logged at debug level, and
// at most one warning per interval says how many there were. Anything else
// net/http reports is an error.
type serverErrorLog struct {
	log     *slog.Logger
	every   time.Duration
	counted func()
	now     func() time.Time

	mu       sync.Mutex
	lastWarn time.Time
	pending  int
}

func newServerErrorLog(l *slog.Logger, every time.Duration, counted func()) *log.Logger {
	if every <= 0 {
		every = DefaultHandshakeWarnEvery
	}
	w := &serverErrorLog{log: l, every: every, counted: counted, now: time.Now}
	return log.New(w, "", 0)
}

func (w *serverErrorLog) Write(p []byte) (int, error) {
	msg := strings.TrimRight(string(p), "\n")
	rest, ok := strings.CutPrefix(msg, tlsHandshakePrefix)
	if !ok {
		w.log.Error(msg)
		return len(p), nil
	}
	if w.counted != nil {
		w.counted()
	}
	peer, reason, _ := strings.Cut(rest, ": ")
	w.log.Debug("TLS handshake failed", "peer", peer, "err", reason)
	now := w.now()
	w.mu.Lock()
	w.pending++
	n := 0
	if w.lastWarn.IsZero() || now.Sub(w.lastWarn) >= w.every {
		n, w.pending, w.lastWarn = w.pending, 0, now
	}
	w.mu.Unlock()
	if n > 0 {
		w.log.Log(context.Background(), slog.LevelWarn, "TLS handshakes failed",
			"count", n, "since", w.every.String(), "last_peer", peer, "last_err", reason)
	}
	return len(p), nil
}

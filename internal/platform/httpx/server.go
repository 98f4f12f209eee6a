package httpx

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Defaults applied by NewServer to zero ServerConfig fields. A server without
// timeouts can be held open indefinitely by slow clients (Slowloris), so zero
// never means "no timeout" here; pass a negative duration to disable one.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	// DefaultDrain is used by Serve when drain is not positive.
	DefaultDrain = 15 * time.Second
)

// ServerConfig holds the http.Server settings that matter for exposure to
// untrusted clients.
type ServerConfig struct {
	Addr              string
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	TLSConfig         *tls.Config
	// TLSHandshakeFailed, when set, is called for every failed TLS
	// handshake (a metric); HandshakeWarnEvery bounds the warnings that
	// summarize them (DefaultHandshakeWarnEvery when zero).
	TLSHandshakeFailed func()
	HandshakeWarnEvery time.Duration
}

// NewServer builds an http.Server for h from cfg, filling zero fields with the
// Default* values, and routes net/http's own error log into errLog so nothing
// is printed outside structured logging: failed TLS handshakes are counted,
// logged at debug level and summarized in at most one warning per
// HandshakeWarnEvery; anything else (panics it recovers) is an error.
// errLog may be nil for slog.Default().
func NewServer(cfg ServerConfig, h http.Handler, errLog *slog.Logger) *http.Server {
	if errLog == nil {
		errLog = slog.Default()
	}
	return &http.Server{
		Addr:              cfg.Addr,
		Handler:           h,
		TLSConfig:         cfg.TLSConfig,
		ReadHeaderTimeout: orDefault(cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       orDefault(cfg.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:      orDefault(cfg.WriteTimeout, DefaultWriteTimeout),
		IdleTimeout:       orDefault(cfg.IdleTimeout, DefaultIdleTimeout),
		MaxHeaderBytes:    orDefault(cfg.MaxHeaderBytes, DefaultMaxHeaderBytes),
		ErrorLog:          newServerErrorLog(errLog, cfg.HandshakeWarnEvery, cfg.TLSHandshakeFailed),
	}
}

func orDefault[T time.Duration | int](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Serve runs srv on ln until ctx is done, then shuts it down gracefully:
// the listener closes at once and in-flight requests get up to drain to
// finish (DefaultDrain when drain is not positive). Connections still busy
// after drain are closed forcibly and an error is returned. TLS is used when
// srv.TLSConfig carries certificates or a way to obtain them.
//
// Serve returns nil on a clean stop, and the server's error if it fails
// before ctx is done. ln is closed in every case.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, drain time.Duration) error {
	if drain <= 0 {
		drain = DefaultDrain
	}
	served := make(chan error, 1)
	go func() {
		if hasCertificates(srv.TLSConfig) {
			served <- srv.ServeTLS(ln, "", "")
		} else {
			served <- srv.Serve(ln)
		}
	}()

	select {
	case err := <-served:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}

	// The parent context is already done; only its values are kept.
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	defer cancel()
	var shutdownErr error
	if err := srv.Shutdown(shutdownCtx); err != nil {
		shutdownErr = fmt.Errorf("http server: graceful shutdown: %w", err)
		if cerr := srv.Close(); cerr != nil {
			shutdownErr = errors.Join(shutdownErr, cerr)
		}
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return errors.Join(shutdownErr, fmt.Errorf("http server: %w", err))
	}
	return shutdownErr
}

func hasCertificates(c *tls.Config) bool {
	return c != nil && (len(c.Certificates) > 0 || c.GetCertificate != nil || c.GetConfigForClient != nil)
}

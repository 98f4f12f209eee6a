package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"go.opentelemetry.io/otel"
	"golang.org/x/sync/errgroup"

	"secureapi/internal/app"
	"secureapi/internal/platform/config"
	"secureapi/internal/platform/httpx"
	"secureapi/internal/platform/tracing"
)

const serveUsage = `usage: api [serve]
  Runs the HTTP server on LISTEN_ADDR (development default 127.0.0.1:8080,
  production :8080), with HTTP_REDIRECT_ADDR and METRICS_ADDR listeners when
  those are set. Settings come from the environment (and ./.env in development).
`

// cmdServe runs the public listener (HTTPS when TLS files are set), the
// optional HTTP->HTTPS redirect listener and the internal metrics listener,
// until SIGINT/SIGTERM; then in-flight requests drain for SHUTDOWN_TIMEOUT.
func cmdServe(ctx context.Context, env *cliEnv, args []string) error {
	if _, err := parseArgs(env, "serve", serveUsage, args, 0, nil); err != nil {
		return err
	}
	cfg, err := env.config()
	if err != nil {
		return err
	}
	log := env.logger(cfg)
	_, warnings := config.Check(cfg)
	warnings = append(warnings, env.lookAlikes()...)
	for _, w := range warnings {
		log.Warn("configuration", "var", w.Var, "warning", w.Message)
	}
	// OpenTelemetry is configured only by the standard OTEL_* variables of the
	// real environment (the SDK does not read .env); without them it is off.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("tracing export", "err", err) }))
	stopTracing, tracingOn, err := tracing.Setup(ctx, env.lookup)
	if err != nil {
		return fmt.Errorf("OTEL_* configuration: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stopTracing(sctx); err != nil {
			log.Warn("tracing shutdown", "err", err)
		}
	}()

	a, err := app.New(ctx, cfg, log, app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()

	// Files left by a crash mid-upload are removed; rows whose file is gone
	// are reported. The walk over every upload waits until the server has
	// started, so that start-up does only what serving needs, and what it
	// allocated goes back to the system afterwards.
	go func() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(sweepDelay):
		}
		defer debug.FreeOSMemory()
		rep, err := a.Files.Sweep(ctx)
		if err != nil {
			log.Error("upload sweep failed", "err", err)
			return
		}
		if rep.RemovedOrphans > 0 || len(rep.MissingFiles) > 0 {
			log.Warn("upload sweep", "removed_orphans", rep.RemovedOrphans, "rows_without_file", rep.MissingFiles)
		}
	}()

	srv := httpx.NewServer(httpx.ServerConfig{
		Addr:              cfg.ListenAddr,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		// Failed handshakes are routine on a public port: counted, logged
		// at debug level, summarized in at most one warning a minute.
		TLSHandshakeFailed: a.Metrics.TLSHandshakeFailed,
	}, a.Handler, log)
	scheme := "http"
	var certs *httpx.CertReloader
	if cfg.TLSEnabled() {
		certs, err = httpx.NewCertReloader(cfg.TLSCertFile, cfg.TLSKeyFile, log)
		if err != nil {
			return err
		}
		srv.TLSConfig = httpx.TLSConfig(certs)
		scheme = "https"
	}
	go reloadOnHangup(ctx, a, certs, log)

	// Every listener is bound before anything is announced, so a taken port
	// fails the start with the variable that names it.
	ln, err := listen("LISTEN_ADDR", cfg.ListenAddr)
	if err != nil {
		return err
	}
	var rln, mln net.Listener
	if cfg.HTTPRedirectAddr != "" {
		if rln, err = listen("HTTP_REDIRECT_ADDR", cfg.HTTPRedirectAddr); err != nil {
			ln.Close()
			return err
		}
	}
	if cfg.MetricsAddr != "" {
		if mln, err = listen("METRICS_ADDR", cfg.MetricsAddr); err != nil {
			ln.Close()
			if rln != nil {
				rln.Close()
			}
			return err
		}
	}

	g, ctx := errgroup.WithContext(ctx)
	log.Info("listening", "addr", ln.Addr().String(), "scheme", scheme, "env", cfg.AppEnv, "database", a.DB.Name(),
		"docs", fmt.Sprintf("%s://%s/docs/", scheme, displayAddr(ln.Addr())), "tracing", tracingOn)
	g.Go(func() error { return httpx.Serve(ctx, srv, ln, cfg.ShutdownTimeout) })
	// Start-up leaves garbage (key loading, migrations check, first queries)
	// that the next collection would only reuse: it goes back to the system
	// now, beside the first requests rather than before them (a forced
	// collection takes several milliseconds).
	go debug.FreeOSMemory()
	if rln != nil {
		_, port, _ := net.SplitHostPort(cfg.ListenAddr)
		rs := httpx.NewServer(httpx.ServerConfig{Addr: cfg.HTTPRedirectAddr}, httpx.RedirectHandler(port, cfg.AllowedHosts), log)
		log.Info("redirecting plain HTTP to HTTPS", "addr", rln.Addr().String())
		g.Go(func() error { return httpx.Serve(ctx, rs, rln, time.Second) })
	}
	if mln != nil {
		mux := http.NewServeMux()
		mux.Handle("/metrics", a.Metrics.Handler())
		ms := httpx.NewServer(httpx.ServerConfig{Addr: cfg.MetricsAddr}, mux, log)
		log.Info("metrics", "addr", mln.Addr().String(), "path", "/metrics")
		g.Go(func() error { return httpx.Serve(ctx, ms, mln, time.Second) })
	}

	start := time.Now()
	err = g.Wait()
	log.Info("stopped", "uptime", time.Since(start).Round(time.Second).String())
	return err
}

// listen binds addr; the error names the variable to change.
func listen(variable, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		hint := ""
		if errors.Is(err, syscall.EADDRINUSE) {
			hint = " (another program uses this port: stop it or choose another address)"
		}
		return nil, exitError{code: 1, msg: fmt.Sprintf("%s=%s: cannot listen: %v%s", variable, addr, err, hint)}
	}
	return ln, nil
}

// reloadOnHangup re-reads on SIGHUP what can change without a restart: the
// TLS certificate (also picked up when its files change) and the JWT keys
// when they come from files.
func reloadOnHangup(ctx context.Context, a *app.App, certs *httpx.CertReloader, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if certs != nil {
				if err := certs.Reload(); err != nil {
					log.Error("SIGHUP: TLS certificate reload failed; keeping the previous one", "err", err)
				} else {
					log.Info("SIGHUP: TLS certificate reloaded")
				}
			}
			if a.Config.JWTSigningKeyFile != "" || a.Config.JWTVerificationKeysFile != "" {
				if err := a.ReloadKeys(); err != nil {
					log.Error("SIGHUP: JWT key reload failed; keeping the previous keys", "err", err)
				} else {
					log.Info("SIGHUP: JWT keys reloaded", "signing_kid", a.Keys.SigningKeyID())
				}
			}
		}
	}
}

// sweepDelay is how long after start-up the upload sweep runs.
const sweepDelay = 5 * time.Second

func displayAddr(a net.Addr) string {
	if tcp, ok := a.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		return fmt.Sprintf("localhost:%d", tcp.Port)
	}
	return a.String()
}

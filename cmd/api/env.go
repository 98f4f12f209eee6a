package main

import (
	"context"
	"io"
	"log/slog"
	"os"

	"secureapi/internal/app"
	"secureapi/internal/platform/config"
	"secureapi/internal/platform/logging"
)

// cliEnv is what every command gets: standard streams and a way to build the app.
type cliEnv struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Open loads the configuration and assembles the app (database, keys, services).
	Open   func(ctx context.Context) (*app.App, error)
	lookup func(string) (string, bool)
}

// config loads and validates the configuration (.env is read in development only).
func (e *cliEnv) config() (*config.Config, error) {
	return config.Load(e.lookup, ".env")
}

func (e *cliEnv) logger(cfg *config.Config) *slog.Logger {
	return logging.New(os.Stderr, cfg.LogLevel, cfg.LogFormat)
}

func (e *cliEnv) openApp(ctx context.Context) (*app.App, error) {
	cfg, err := e.config()
	if err != nil {
		return nil, err
	}
	return app.New(ctx, cfg, e.logger(cfg), app.Options{})
}

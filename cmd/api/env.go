package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"secureapi/internal/app"
	"secureapi/internal/platform/config"
	"secureapi/internal/platform/logging"
)

// cliEnv is what every command gets: standard streams, the environment and a
// way to build the app.
type cliEnv struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Open loads the configuration and assembles the app (database, keys, services).
	Open func(ctx context.Context) (*app.App, error)
	// vars is the process environment as NAME -> value.
	vars map[string]string
}

func newCLIEnv(environ []string, stdin io.Reader, stdout, stderr io.Writer) *cliEnv {
	vars := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	env := &cliEnv{Stdin: stdin, Stdout: stdout, Stderr: stderr, vars: vars}
	env.Open = env.openApp
	return env
}

func (e *cliEnv) lookup(name string) (string, bool) {
	v, ok := e.vars[name]
	return v, ok
}

// config loads and validates the configuration (.env is read in development only).
func (e *cliEnv) config() (*config.Config, error) {
	return config.Load(e.lookup, ".env")
}

// lookAlikes lists environment variables that look like settings but are not
// (a misspelt LOG_LEVL), so that they do not go unnoticed.
func (e *cliEnv) lookAlikes() []config.Problem {
	names := make([]string, 0, len(e.vars))
	for k := range e.vars {
		names = append(names, k)
	}
	slices.Sort(names)
	return config.LookAlikes(names, "the environment")
}

func (e *cliEnv) logger(cfg *config.Config) *slog.Logger {
	return logging.New(os.Stderr, cfg.LogLevel, cfg.LogFormat)
}

func (e *cliEnv) openApp(ctx context.Context) (*app.App, error) {
	cfg, err := e.config()
	if err != nil {
		return nil, err
	}
	// A command runs for moments and sends no mail: no background sender.
	return app.New(ctx, cfg, e.logger(cfg), app.Options{NoMailSender: true})
}

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

func numCPU() int { return runtime.NumCPU() }

// instanceEnv is what every instance runs with: development mode (migrations
// on start), one signing key for the whole run (tokens survive restarts and
// verify on every instance), cheap password hashing (the suites measure the
// service, not argon2id), cookies over plain HTTP, JSON logs, and no rate
// limits unless a suite sets them. Nothing is inherited from the caller's
// environment but PATH, HOME and TMPDIR, so a developer's settings (or the
// OTEL_* variables) cannot change a run.
func (rn *run) instanceEnv(dbURL string, extra ...string) []string {
	env := []string{
		"APP_ENV=development",
		"AUTO_MIGRATE=true",
		"JWT_SIGNING_KEY=" + rn.signing,
		"COOKIE_SECURE=false",
		"ARGON2_MEMORY_KIB=64",
		"ARGON2_ITERATIONS=1",
		"LOG_FORMAT=json",
		"LOG_LEVEL=info",
		"RATE_LIMIT_IP_PER_MINUTE=0",
		"RATE_LIMIT_USER_PER_MINUTE=0",
		"RATE_LIMIT_AUTH_PER_MINUTE=0",
		// A hostile request that stops sending its body holds its connection
		// until READ_TIMEOUT; keeping that below the drain time lets every
		// stop finish gracefully (stop() kills after 20 s).
		"READ_TIMEOUT=4s",
		"SHUTDOWN_TIMEOUT=10s",
	}
	if dbURL != "" {
		env = append(env, "DATABASE_URL="+dbURL)
	}
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	// Later entries win: a suite's settings override the defaults above.
	return mergeEnv(append(env, extra...))
}

func mergeEnv(env []string) []string {
	idx := map[string]int{}
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := idx[k]; ok {
			out[i] = kv
			continue
		}
		idx[k] = len(out)
		out = append(out, kv)
	}
	return out
}

// database prepares engine's database for one suite: nothing for SQLite
// (each instance uses DATA_DIR/app.db), a fresh schema for PostgreSQL.
func (rn *run) database(ctx context.Context, engine, name string) (string, func(), error) {
	if engine == "sqlite" {
		return "", func() {}, nil
	}
	return pgSchema(ctx, rn.pgBase, "torture_"+strings.ReplaceAll(name, "-", "_"))
}

// dsn is what snapshot and queryStrings open for srv's database.
func dsn(engine, dbURL string, srv *server) string {
	if engine == "sqlite" {
		return filepath.Join(srv.dataDir, "app.db")
	}
	return dbURL
}

func (rn *run) logf(format string, args ...any) {
	fmt.Fprintf(rn.log, "   "+format+"\n", args...)
}

// createAdmin makes an admin account through the binary's own command.
func createAdmin(ctx context.Context, srv *server, email, username string) error {
	out, err := srv.cli(ctx, testPassword+"\n", "users", "create-admin", "--email", email, "--username", username)
	if err != nil {
		return fmt.Errorf("api users create-admin: %v: %s", err, out)
	}
	return nil
}

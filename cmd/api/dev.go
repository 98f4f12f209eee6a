package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"
)

const devUsage = `usage: api dev reset --yes
  Deletes what the development server keeps under DATA_DIR: the SQLite
  database, the development signing key, uploads and the mail outbox, so the
  next start begins from nothing. Refused in production, for a PostgreSQL
  DATABASE_URL (drop that database yourself), and while a server answers on
  LISTEN_ADDR. An UPLOAD_DIR outside DATA_DIR is left alone.
`

// devDataFiles are the entries the service itself creates in DATA_DIR; reset
// deletes these and nothing else, so a DATA_DIR pointed at a shared folder by
// mistake loses nothing that is not ours.
func devDataFiles(dataDir, sqlitePath, uploadDir string) []string {
	files := []string{
		filepath.Join(dataDir, "jwt-signing.key"),
		filepath.Join(dataDir, "outbox"),
	}
	if sqlitePath != "" {
		files = append(files, sqlitePath, sqlitePath+"-wal", sqlitePath+"-shm", sqlitePath+"-journal")
	}
	if rel, err := filepath.Rel(dataDir, uploadDir); err == nil && rel != "." && filepath.IsLocal(rel) {
		files = append(files, uploadDir)
	}
	return files
}

func cmdDev(_ context.Context, env *cliEnv, args []string) error {
	args, err := subcommand(env, "dev", "reset", devUsage, args)
	if err != nil {
		return err
	}
	var yes *bool
	if _, err := parseArgs(env, "dev reset", devUsage, args, 0, func(fs *flag.FlagSet) {
		yes = fs.Bool("yes", false, "really delete")
	}); err != nil {
		return err
	}
	cfg, err := env.config()
	if err != nil {
		return err
	}
	if cfg.IsProduction() {
		return exitError{code: 1, msg: "api dev reset: refused with APP_ENV=production"}
	}
	if cfg.SQLitePath() == "" {
		return exitError{code: 1, msg: "api dev reset: DATABASE_URL is PostgreSQL; drop and re-create that database yourself (the files under DATA_DIR are left alone)"}
	}
	if conn, err := net.DialTimeout("tcp", dialable(cfg.ListenAddr), 300*time.Millisecond); err == nil {
		conn.Close()
		return exitError{code: 1, msg: fmt.Sprintf("api dev reset: something answers on LISTEN_ADDR %s; stop the server first", cfg.ListenAddr)}
	}
	files := devDataFiles(cfg.DataDir, cfg.SQLitePath(), cfg.UploadDir)
	if !*yes {
		fmt.Fprintln(env.Stdout, "would delete:")
		for _, f := range files {
			fmt.Fprintln(env.Stdout, "  "+f)
		}
		return exitError{code: 2, msg: "api dev reset: nothing deleted; run again with --yes"}
	}
	for _, f := range files {
		if _, err := os.Lstat(f); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.RemoveAll(f); err != nil {
			return fmt.Errorf("delete %s: %w", f, err)
		}
		fmt.Fprintln(env.Stdout, "deleted "+f)
	}
	fmt.Fprintln(env.Stdout, "development data reset; the next start creates it anew")
	return nil
}

// dialable turns a listen address into one to connect to (":8080" -> "127.0.0.1:8080").
func dialable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

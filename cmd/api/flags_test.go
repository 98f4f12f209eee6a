package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the program as a shell would, with environ as its whole environment.
func runCLI(t *testing.T, environ []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, environ, strings.NewReader(""), &out, &errOut)
	if err != nil {
		if ee, ok := err.(exitError); ok && ee.msg != "" {
			errOut.WriteString(ee.msg)
		}
	}
	return exitCode(err), out.String(), errOut.String()
}

func TestEveryCommandRefusesUnknownFlagsAndArguments(t *testing.T) {
	env := []string{"DATA_DIR=" + t.TempDir()}
	tests := []struct {
		args     []string
		code     int
		inOutput string
	}{
		{[]string{"serve", "--bogus"}, 2, "flag provided but not defined: -bogus"},
		{[]string{"serve", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"serve", "--help"}, 0, "usage: api [serve]"},
		{[]string{"--bogus"}, 2, `unknown flag "--bogus"`},
		{[]string{"bogus"}, 2, `unknown command "bogus"`},
		{[]string{"--help"}, 0, "commands:"},
		{[]string{"version", "--short"}, 2, "flag provided but not defined"},
		{[]string{"migrate"}, 2, "missing argument"},
		{[]string{"migrate", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"migrate", "sideways"}, 2, `unknown subcommand "sideways"`},
		{[]string{"migrate", "up", "--bogus"}, 2, "unexpected argument"},
		{[]string{"migrate", "--help"}, 0, "usage: api migrate up|down|status"},
		{[]string{"keys"}, 2, "missing subcommand"},
		{[]string{"keys", "generate", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"keys", "generate", "--help"}, 0, "-type"},
		{[]string{"audit", "verify", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"audit", "check"}, 2, `unknown subcommand "check"`},
		{[]string{"config", "check", "now"}, 2, "unexpected argument"},
		{[]string{"users", "create-admin", "--name", "x"}, 2, "flag provided but not defined"},
		{[]string{"users", "create-admin", "--email", "a@example.com"}, 2, "--email and --username are required"},
		{[]string{"healthcheck", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"dev", "reset", "--force"}, 2, "flag provided but not defined"},
		{[]string{"dev", "wipe"}, 2, `unknown subcommand "wipe"`},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, env, tc.args...)
			if code != tc.code {
				t.Errorf("exit status %d, want %d (stdout %q, stderr %q)", code, tc.code, out, errOut)
			}
			if !strings.Contains(out+errOut, tc.inOutput) {
				t.Errorf("output does not contain %q:\n%s%s", tc.inOutput, out, errOut)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		code, out, _ := runCLI(t, nil, arg)
		if code != 0 || !strings.HasPrefix(out, "api dev (go") {
			t.Errorf("%s: status %d, output %q", arg, code, out)
		}
	}
}

// freePort returns a loopback address nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestHealthcheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusNotFound)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	dir := t.TempDir()
	// ":PORT" (every interface) is probed on the loopback address.
	if code, out, errOut := runCLI(t, []string{"DATA_DIR=" + dir, "LISTEN_ADDR=:" + port}, "healthcheck"); code != 0 || out != "healthy\n" {
		t.Errorf("serving: status %d, %q %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, []string{"DATA_DIR=" + dir, "LISTEN_ADDR=" + freePort(t)}, "healthcheck", "--timeout", "1s"); code != 1 || !strings.Contains(errOut, "unhealthy") {
		t.Errorf("nothing listening: status %d, %q", code, errOut)
	}
}

func TestDevReset(t *testing.T) {
	dir := t.TempDir()
	ours := []string{"app.db", "app.db-wal", "jwt-signing.key", "outbox/1.eml", "uploads/ab/cdef"}
	for _, f := range append(ours, "notes.txt") {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"DATA_DIR=" + dir, "LISTEN_ADDR=" + freePort(t)}
	exists := func(f string) bool { _, err := os.Stat(filepath.Join(dir, f)); return err == nil }

	if code, out, _ := runCLI(t, env, "dev", "reset"); code != 2 || !strings.Contains(out, "would delete") || !exists("app.db") {
		t.Fatalf("without --yes: status %d, %q; nothing may be deleted", code, out)
	}
	if code, _, errOut := runCLI(t, append(env, "APP_ENV=production"), "dev", "reset", "--yes"); code == 0 || !exists("app.db") {
		t.Fatalf("production: status %d, %q; must be refused", code, errOut)
	}
	if code, out, errOut := runCLI(t, env, "dev", "reset", "--yes"); code != 0 {
		t.Fatalf("reset: status %d, %q %q", code, out, errOut)
	}
	for _, f := range ours {
		if exists(f) {
			t.Errorf("%s survived the reset", f)
		}
	}
	if !exists("notes.txt") {
		t.Error("a file the service did not create was deleted")
	}
}

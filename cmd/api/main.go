// Command api runs the service and its operator commands:
//
//	api [serve]                      run the HTTP server
//	api migrate up|down|status       manage database migrations
//	api users create-admin --email E --username U   (password from standard input)
//	api audit verify                 check the audit log's hash chain
//	api keys generate [--type signing|field]
//	api config check                 effective configuration (secrets masked), warnings, refusals
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdin, os.Stdout, os.Stderr)
	if err == nil {
		return
	}
	var ee exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(os.Stderr, ee.msg)
		}
		os.Exit(ee.code)
	}
	fmt.Fprintln(os.Stderr, "error:", err)
	os.Exit(1)
}

const usage = `usage: api [command]

commands:
  serve                                   run the HTTP server (default)
  migrate up|down|status                  apply, roll back one, or list migrations
  users create-admin --email E --username U
                                          create an admin; the password is read from standard input
  audit verify                            check the audit log's hash chain (exit 1 when broken)
  keys generate [--type signing|field]    print a new JWT signing key or field-encryption key
  config check                            print the effective configuration, warnings and refusals
`

// run is the whole program, with its environment passed in so tests can call it.
func run(ctx context.Context, args []string, lookup func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	env := &cliEnv{Stdin: stdin, Stdout: stdout, Stderr: stderr, lookup: lookup}
	env.Open = env.openApp
	switch cmd {
	case "serve":
		return cmdServe(ctx, env)
	case "migrate":
		return cmdMigrate(ctx, env, args)
	case "users":
		return cmdUsers(ctx, env, args)
	case "audit":
		return cmdAudit(ctx, env, args)
	case "keys":
		return cmdKeys(env, args)
	case "config":
		return cmdConfig(env, args)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return exitError{code: 2, msg: fmt.Sprintf("unknown command %q\n\n%s", cmd, usage)}
}

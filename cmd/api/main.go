// Command api runs the service and its operator commands:
//
//	api [serve]                      run the HTTP server
//	api migrate up|down|status       manage database migrations
//	api users create-admin --email E --username U   (password from standard input)
//	api audit verify                 check the audit log's hash chain
//	api keys generate [--type signing|field]
//	api config check                 effective configuration (secrets masked), warnings, refusals
//	api healthcheck                  probe the running server's /healthz (container health checks)
//	api dev reset --yes              delete the development data under DATA_DIR
//	api version                      print the version (also --version)
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr)
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

const usage = `usage: api [command] [flags]

commands:
  serve                                   run the HTTP server (default)
  migrate up|down|status                  apply, roll back one, or list migrations
  users create-admin --email E --username U
                                          create an admin; the password is read from standard input
  audit verify                            check the audit log's hash chain (exit 1 when broken)
  keys generate [--type signing|field]    print a new JWT signing key or field-encryption key
  config check                            print the effective configuration, warnings and refusals
  healthcheck                             exit 0 when the server on LISTEN_ADDR answers /healthz
  dev reset --yes                         delete the development database, keys, uploads and outbox
  version                                 print the version (also --version)

Settings come from environment variables (and ./.env in development); see .env.example.
"api COMMAND --help" describes a command.
`

// run is the whole program, with its environment passed in so tests can call it.
func run(ctx context.Context, args []string, environ []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	env := newCLIEnv(environ, stdin, stdout, stderr)
	switch cmd {
	case "serve":
		return cmdServe(ctx, env, args)
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
	case "healthcheck":
		return cmdHealthcheck(ctx, env, args)
	case "dev":
		return cmdDev(ctx, env, args)
	case "version", "--version", "-version", "-v":
		if _, err := parseArgs(env, "version", "usage: api version\n", args, 0, nil); err != nil {
			return err
		}
		fmt.Fprintln(stdout, versionString())
		return nil
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	if strings.HasPrefix(cmd, "-") {
		return exitError{code: 2, msg: fmt.Sprintf("unknown flag %q\n\n%s", cmd, usage)}
	}
	return exitError{code: 2, msg: fmt.Sprintf("unknown command %q\n\n%s", cmd, usage)}
}

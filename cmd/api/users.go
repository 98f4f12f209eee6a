package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"secureapi/internal/platform/apperr"
)

const usersUsage = `usage: api users create-admin --email E --username U
  The password is read from standard input (first line), never from a flag:
    printf '%s\n' "$ADMIN_PASSWORD" | api users create-admin --email admin@example.com --username admin
`

// cmdUsers runs `api users ...`.
func cmdUsers(ctx context.Context, env *cliEnv, args []string) error {
	args, err := subcommand(env, "users", "create-admin", usersUsage, args)
	if err != nil {
		return err
	}
	var email, username *string
	if _, err := parseArgs(env, "users create-admin", usersUsage, args, 0, func(fs *flag.FlagSet) {
		email = fs.String("email", "", "email address of the new admin")
		username = fs.String("username", "", "username of the new admin")
	}); err != nil {
		return err
	}
	if *email == "" || *username == "" {
		return exitError{code: 2, msg: "api users create-admin: --email and --username are required\n\n" + usersUsage}
	}
	pw, err := readPassword(env)
	if err != nil {
		return exitError{code: 1, msg: err.Error()}
	}

	a, err := env.Open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.Auth.CreateAdmin(ctx, *email, *username, pw)
	if err != nil {
		if ae, ok := apperr.As(err); ok {
			return exitError{code: 1, msg: "cannot create admin: " + describe(ae)}
		}
		return err
	}
	fmt.Fprintln(env.Stdout, u.ID)
	return nil
}

// maxPasswordLine bounds the read; the longest accepted password is far shorter.
const maxPasswordLine = 4096

// readPassword reads the first line of standard input. On a terminal it
// prompts on standard error and turns echo off.
func readPassword(env *cliEnv) (string, error) {
	if f, ok := env.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(env.Stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return checkPasswordLine(string(b))
	}
	line, err := bufio.NewReader(io.LimitReader(env.Stdin, maxPasswordLine)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	if err != nil && len(line) == maxPasswordLine {
		return "", errors.New("the password line on standard input is too long")
	}
	return checkPasswordLine(strings.TrimRight(line, "\r\n"))
}

func checkPasswordLine(pw string) (string, error) {
	if pw == "" {
		return "", errors.New("no password on standard input (give it as the first line)")
	}
	return pw, nil
}

// describe renders a client-safe error for the operator.
func describe(e *apperr.Error) string {
	if len(e.Fields) == 0 {
		return e.Detail
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return strings.Join(parts, "; ")
}

package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// parseArgs parses one command's flags (defined by define, which may be nil)
// and returns its positional arguments, of which there must be exactly
// positional (-1: any number). -h/--help prints the command's usage and ends
// the program with status 0; an unknown flag or a wrong number of arguments
// ends it with status 2, naming the problem, and the usage.
func parseArgs(env *cliEnv, name, usage string, args []string, positional int, define func(*flag.FlagSet)) ([]string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if define != nil {
		define(fs)
	}
	full := usage
	if define != nil {
		var b bytes.Buffer
		fs.SetOutput(&b)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		full = strings.TrimRight(usage, "\n") + "\n\nflags:\n" + b.String()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(env.Stdout, full)
			return nil, exitError{code: 0}
		}
		return nil, exitError{code: 2, msg: fmt.Sprintf("api %s: %v\n\n%s", name, err, strings.TrimRight(full, "\n"))}
	}
	rest := fs.Args()
	if positional >= 0 && len(rest) != positional {
		what := "unexpected argument " + fmt.Sprintf("%q", strings.Join(rest, " "))
		if len(rest) < positional {
			what = "missing argument"
		}
		return nil, exitError{code: 2, msg: fmt.Sprintf("api %s: %s\n\n%s", name, what, strings.TrimRight(full, "\n"))}
	}
	return rest, nil
}

// subcommand checks that args starts with the one subcommand a command group
// has (`keys generate`, `audit verify`) and returns the arguments after it.
func subcommand(env *cliEnv, name, sub, usage string, args []string) ([]string, error) {
	if len(args) > 0 && args[0] == sub {
		return args[1:], nil
	}
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help") {
		fmt.Fprint(env.Stdout, usage)
		return nil, exitError{code: 0}
	}
	what := "missing subcommand"
	if len(args) > 0 {
		what = fmt.Sprintf("unknown subcommand %q", args[0])
	}
	return nil, exitError{code: 2, msg: fmt.Sprintf("api %s: %s\n\n%s", name, what, strings.TrimRight(usage, "\n"))}
}

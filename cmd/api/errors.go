package main

import "fmt"

// exitError ends the program with code; msg, when set, is the one line the
// operator sees on standard error (details were already printed).
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return fmt.Sprintf("exit status %d", e.code)
}

// ExitCode is the process exit status main uses for this error.
func (e exitError) ExitCode() int { return e.code }

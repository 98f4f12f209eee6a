package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with the configuration. Message explains what is
// wrong and how to fix it, so it can be shown to an operator as is.
type Problem struct {
	Var     string
	Message string
}

// String renders the problem as "VAR: message".
func (p Problem) String() string {
	if p.Var == "" {
		return p.Message
	}
	return p.Var + ": " + p.Message
}

// Error lists every problem found while loading, so that a deployment can be
// fixed in one pass rather than one restart per mistake.
type Error struct {
	Problems []Problem
}

// Error joins the problems one per line.
func (e *Error) Error() string {
	if e == nil || len(e.Problems) == 0 {
		return "invalid configuration"
	}
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Has reports whether any problem concerns the named variable.
func (e *Error) Has(name string) bool {
	if e == nil {
		return false
	}
	for _, p := range e.Problems {
		if p.Var == name {
			return true
		}
	}
	return false
}

// problems collects Problems while keeping call sites short.
type problems []Problem

func (ps *problems) add(name, format string, args ...any) {
	*ps = append(*ps, Problem{Var: name, Message: fmt.Sprintf(format, args...)})
}

func (ps problems) has(name string) bool {
	for _, p := range ps {
		if p.Var == name {
			return true
		}
	}
	return false
}

package password

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Rule names carried by PolicyError.Rule. They are stable so that clients can
// map them to their own wording or highlight the offending requirement.
const (
	RuleMinLength = "min_length"
	RuleMaxLength = "max_length"
	RuleUpper     = "upper"
	RuleDigit     = "digit"
)

// Policy describes the composition rules for new passwords. A zero MinLength
// or MaxLength disables that bound.
type Policy struct {
	MinLength, MaxLength       int
	RequireUpper, RequireDigit bool
}

// PolicyError reports the first rule a password breaks. Msg is safe to show
// to the person choosing the password.
type PolicyError struct {
	Rule string
	Msg  string
}

func (e *PolicyError) Error() string { return e.Msg }

// Check returns nil when pw satisfies p, or a *PolicyError for the first rule
// it breaks, in the order min_length, max_length, upper, digit.
//
// Lengths count code points rather than bytes so that a user typing
// non-ASCII characters gets the limit the message promises.
func (p Policy) Check(pw string) error {
	n := utf8.RuneCountInString(pw)
	if p.MinLength > 0 && n < p.MinLength {
		return &PolicyError{Rule: RuleMinLength, Msg: fmt.Sprintf("password must be at least %d characters", p.MinLength)}
	}
	if p.MaxLength > 0 && n > p.MaxLength {
		return &PolicyError{Rule: RuleMaxLength, Msg: fmt.Sprintf("password must be at most %d characters", p.MaxLength)}
	}
	if !p.RequireUpper && !p.RequireDigit {
		return nil
	}
	var upper, digit bool
	for _, r := range pw {
		upper = upper || unicode.IsUpper(r)
		digit = digit || unicode.IsDigit(r)
	}
	if p.RequireUpper && !upper {
		return &PolicyError{Rule: RuleUpper, Msg: "password must contain an uppercase letter"}
	}
	if p.RequireDigit && !digit {
		return &PolicyError{Rule: RuleDigit, Msg: "password must contain a digit"}
	}
	return nil
}

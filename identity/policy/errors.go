package policy

import (
	"errors"
	"strconv"
)

// Sentinels. Enforce wraps ErrNotRegistered in a *fault.Error of kind
// Internal; Register wraps ErrDuplicate.
var (
	// ErrNotRegistered: Enforce was asked for a rule no one registered
	// (oslo.policy's PolicyNotRegistered), a programming error.
	ErrNotRegistered = errors.New("policy: rule not registered")
	// ErrDuplicate: Register was given a rule name already registered
	// (oslo.policy's DuplicatePolicyError).
	ErrDuplicate = errors.New("policy: rule already registered")
)

// ParseError reports a rule, or part of one, that oslo.policy would not
// understand. The Check returned alongside it still behaves as oslo's
// does: the whole rule fails closed if it does not parse, and a base check
// without a colon is false in place.
type ParseError struct {
	Rule   string // the rule text; for a list rule, the list in Go syntax
	Reason string
}

// Error implements error.
func (e *ParseError) Error() string {
	return "policy: parse " + quote(e.Rule) + ": " + e.Reason
}

func quote(s string) string { return strconv.Quote(s) }

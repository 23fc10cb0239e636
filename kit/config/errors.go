package config

import (
	"errors"
	"fmt"
)

// ErrUnknownKey is wrapped by every error about a key that matches no
// field, whether the key came from the file, the environment or a flag.
var ErrUnknownKey = errors.New("unknown key")

// FieldError says what is wrong with one key. Validate methods return it
// (alone or several joined with errors.Join) so the message names the key
// the operator has to fix. Load's own errors about a value wrap one too, so
// errors.As finds the key whatever the source.
type FieldError struct {
	Key     string // dotted YAML path, like "watch.max_changes"
	Problem string // what is wrong, like "must be positive"
}

// Error returns "config: <key>: <problem>".
func (e *FieldError) Error() string { return "config: " + e.detail() }

func (e *FieldError) detail() string {
	if e.Key == "" {
		return e.Problem
	}
	return e.Key + ": " + e.Problem
}

func unknownKey(key string) error { return fmt.Errorf("%w %q", ErrUnknownKey, key) }

// sourceError is an error prefixed by where it was found, like
// "config gostack.yaml: line 4" or "config: env GOSTACK_LOG_LEVEL".
type sourceError struct {
	where string
	err   error
}

func (e *sourceError) Error() string {
	if fe, ok := e.err.(*FieldError); ok {
		return e.where + ": " + fe.detail()
	}
	return e.where + ": " + e.err.Error()
}

func (e *sourceError) Unwrap() error { return e.err }

// validationError is what a Validate method returned, flattened to one line
// and annotated with where each bad value came from.
type validationError struct {
	msg  string
	errs []error
}

func (e *validationError) Error() string { return e.msg }

func (e *validationError) Unwrap() []error { return e.errs }

package placement

import "errors"

// Errors, wrapped with the details; match them with errors.Is.
var (
	// ErrInvalid is input Placement refuses (a 400).
	ErrInvalid = errors.New("placement: invalid")
	// ErrNotFound is a provider, class, trait or consumer that does not exist.
	ErrNotFound = errors.New("placement: not found")
)
